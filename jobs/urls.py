from django.urls import path

from quotes import views as quote_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # customers
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/new/", views.job_new, name="job-new"),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/edit/", views.job_edit, name="job-edit"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/quote/", quote_views.bid_quote_fragment, name="bid-quote"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/promo.json", quote_views.promo_preview, name="quote-promo-json"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/accept-quote/", quote_views.quote_accept, name="quote-accept"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/<slug:action>/", views.bid_decide, name="bid-decide"),
    path("jobs/<int:job_id>/payment/", quote_views.payment_fragment, name="payment-panel"),
    # tradespeople
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/<int:job_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:job_id>/quote/", quote_views.quote_save, name="quote-save"),
    path("leads/<int:job_id>/quote/preview.json", quote_views.quote_preview, name="quote-preview"),
    path("leads/<int:job_id>/work/<slug:action>/", quote_views.lead_work, name="lead-work"),
    path("leads/<int:job_id>/bid/withdraw/", views.bid_withdraw, name="bid-withdraw"),
    path("board/", views.board, name="board"),
    path("profile/", views.profile, name="profile"),
    path("pros/<int:user_id>/", views.pro_public, name="pro-public"),
]
