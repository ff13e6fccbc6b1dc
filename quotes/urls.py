"""Pages for quotes and payments: the job page (customer) and the lead page (tradesperson), which show
quotes and the payment panel, the quote builder, acceptance and the invoice.

Included before ``jobs.urls`` (marketplace/urls.py): ``accept-quote`` must win over jobs' ``<slug:action>``.
"""

from django.urls import path

from . import bookings, invoices, plans, pricebook_views, views

urlpatterns = [
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/quote/", views.bid_quote_fragment, name="bid-quote"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/promo.json", views.promo_preview, name="quote-promo-json"),
    path("jobs/<int:job_id>/bids/<int:bid_id>/accept-quote/", views.quote_accept, name="quote-accept"),
    path("jobs/<int:job_id>/payment/", views.payment_fragment, name="payment-panel"),
    path("leads/<int:job_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:job_id>/quote/", views.quote_save, name="quote-save"),
    path("leads/<int:job_id>/quote/preview.json", views.quote_preview, name="quote-preview"),
    path("leads/<int:job_id>/work/<slug:action>/", views.lead_work, name="lead-work"),
    path("jobs/<int:job_id>/invoice/", invoices.job_invoice, name="job-invoice"),
    path("jobs/<int:job_id>/invoice.pdf", invoices.job_invoice_pdf, name="job-invoice-pdf"),
    path("services/", bookings.offering_list, name="offering-list"),
    path("services/<int:offering_id>/edit/", bookings.offering_edit, name="offering-edit"),
    path("services/<int:offering_id>/active/", bookings.offering_active, name="offering-active"),
    path("plans/", plans.plan_list, name="plan-list"),
    path("plans/<int:plan_id>/accept/", plans.plan_accept, name="plan-accept"),
    path("plans/<int:plan_id>/cancel/", plans.plan_cancel, name="plan-cancel"),
    path("leads/<int:job_id>/plan/", plans.plan_offer, name="plan-offer"),
    path("pros/<int:pro_id>/services/<int:offering_id>/book/", bookings.offering_book, name="offering-book"),
    path("price-book/", pricebook_views.price_book, name="price-book"),
    path("price-book/items/<int:item_id>/edit/", pricebook_views.price_book_item_edit, name="price-book-item-edit"),
    path("price-book/items/<int:item_id>/active/", pricebook_views.price_book_item_active, name="price-book-item-active"),
    path("price-book/templates/new/", pricebook_views.quote_template_edit, name="quote-template-new"),
    path("price-book/templates/<int:template_id>/edit/", pricebook_views.quote_template_edit, name="quote-template-edit"),
    path("price-book/templates/<int:template_id>/active/", pricebook_views.quote_template_active, name="quote-template-active"),
]
