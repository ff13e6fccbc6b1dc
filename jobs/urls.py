from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # customers
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/new/", views.job_new, name="job-new"),
    path("jobs/new/questions/", views.job_questions, name="job-questions"),
    path("jobs/<int:job_id>/edit/", views.job_edit, name="job-edit"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/<slug:action>/", views.bid_decide, name="bid-decide"),
    # tradespeople
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/<int:job_id>/bid/withdraw/", views.bid_withdraw, name="bid-withdraw"),
    path("leads/<int:job_id>/decline/", views.lead_decline, name="lead-decline"),
    path("board/", views.board, name="board"),
    path("profile/", views.profile, name="profile"),
    path("profile/portfolio/", views.portfolio_add, name="portfolio-add"),
    path("profile/portfolio/<int:photo_id>/delete/", views.portfolio_delete, name="portfolio-delete"),
    path("profile/credentials/", views.profile_credentials, name="profile-credentials"),
    path("profile/credentials/<int:credential_id>/remove/", views.credential_remove, name="credential-remove"),
    path("pros/<int:user_id>/", views.pro_public, name="pro-public"),
    # photos, through views that check who asks (never by their storage path)
    path("photos/<int:photo_id>/", views.job_photo, name="job-photo"),
    path("photos/<int:photo_id>/thumb/", views.job_photo, {"thumb": True}, name="job-photo-thumb"),
    path("portfolio/<int:photo_id>/", views.portfolio_photo, name="portfolio-photo"),
    path("portfolio/<int:photo_id>/thumb/", views.portfolio_photo, {"thumb": True}, name="portfolio-photo-thumb"),
]
