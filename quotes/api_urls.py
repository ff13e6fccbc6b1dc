from django.urls import path

from . import api

urlpatterns = [
    path("pros/<int:pro_id>/services/", api.ProServicesApi.as_view(), name="api-pro-services"),
    path("pros/<int:pro_id>/services/<int:offering_id>/book/", api.ServiceBookApi.as_view(), name="api-service-book"),
    path("plans/", api.PlansApi.as_view(), name="api-plans"),
    path("plans/<int:plan_id>/accept/", api.PlanAcceptApi.as_view(), name="api-plan-accept"),
    path("plans/<int:plan_id>/cancel/", api.PlanCancelApi.as_view(), name="api-plan-cancel"),
    path("jobs/<int:job_id>/bids/", api.JobBidsApi.as_view(), name="api-job-bids"),
    path("bids/<int:bid_id>/", api.BidDetailApi.as_view(), name="api-bid-detail"),
    path("bids/<int:bid_id>/withdraw/", api.BidWithdrawApi.as_view(), name="api-bid-withdraw"),
    path("bids/<int:bid_id>/shortlist/", api.BidShortlistApi.as_view(), name="api-bid-shortlist"),
    path("bids/<int:bid_id>/decline/", api.BidDeclineApi.as_view(), name="api-bid-decline"),
    path("quotes/price/", api.QuotePriceApi.as_view(), name="api-quote-price"),
    path("bids/<int:bid_id>/quote/", api.BidQuoteApi.as_view(), name="api-bid-quote"),
    path("bids/<int:bid_id>/quote/price/", api.BidQuotePriceApi.as_view(), name="api-bid-quote-price"),
    path("bids/<int:bid_id>/accept/", api.BidAcceptApi.as_view(), name="api-bid-accept"),
    path("jobs/<int:job_id>/award/", api.JobAwardApi.as_view(), name="api-job-award"),
    path("jobs/<int:job_id>/payment/", api.JobPaymentApi.as_view(), name="api-job-payment"),
    path("jobs/<int:job_id>/payment/pay-balance/", api.JobPayBalanceApi.as_view(), name="api-job-pay-balance"),
    path("jobs/<int:job_id>/payment/approve/", api.JobPaymentApproveApi.as_view(), name="api-job-payment-approve"),
    path("jobs/<int:job_id>/payment/dispute/", api.JobPaymentDisputeApi.as_view(), name="api-job-payment-dispute"),
    path("payments/<int:payment_id>/refunds/", api.PaymentRefundsApi.as_view(), name="api-payment-refunds"),
    path("payments/webhooks/simulated/", api.SimulatedWebhookApi.as_view(), name="api-payment-webhook-simulated"),
    path("price-book/items/", api.PriceBookItemsApi.as_view(), name="api-price-book-items"),
    path("price-book/items/<int:item_id>/", api.PriceBookItemApi.as_view(), name="api-price-book-item"),
    path("price-book/templates/", api.QuoteTemplatesApi.as_view(), name="api-quote-templates"),
    path("price-book/templates/<int:template_id>/", api.QuoteTemplateApi.as_view(), name="api-quote-template"),
]
