"""Sign-off pages (payments/views.py). Included before ``jobs.urls``, whose ``jobs/<id>/<slug:action>/`` would catch them."""

from django.urls import path

from . import views

urlpatterns = [
    path("jobs/<int:job_id>/signoff/", views.signoff_fragment, name="signoff-panel"),
    path("jobs/<int:job_id>/signoff/approve/", views.signoff_approve, name="signoff-approve"),
    path("jobs/<int:job_id>/signoff/problem/", views.signoff_problem, name="signoff-problem"),
]
