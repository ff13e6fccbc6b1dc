"""Staff pages mounted under /admin/ (before the admin site's own catch-all)."""

from django.urls import path

from .views import customer360_view

urlpatterns = [
    path("admin/customer360/<int:user_id>/", customer360_view, name="customer360"),
]
