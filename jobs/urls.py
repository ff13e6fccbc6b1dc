from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # customers
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/new/", views.job_new, name="job-new"),
    path("jobs/<int:job_id>/edit/", views.job_edit, name="job-edit"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/<slug:action>/", views.bid_decide, name="bid-decide"),
    # tradespeople
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/<int:job_id>/bid/withdraw/", views.bid_withdraw, name="bid-withdraw"),
    path("leads/<int:job_id>/decline/", views.lead_decline, name="lead-decline"),
    path("board/", views.board, name="board"),
    path("profile/", views.profile, name="profile"),
    path("pros/<int:user_id>/", views.pro_public, name="pro-public"),
]
