"""Staff pages: the customer 360 (``/admin/customer360/<user_id>/``), inside Django admin."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .customer360 import customer_360


def customer360_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """Everything about one customer.  Staff only (admin login otherwise) with permission to view users."""
    if not (request.user.is_staff and request.user.has_perm("accounts.view_user")):
        raise PermissionDenied
    view = customer_360(customer_id=user_id)
    if view is None:
        raise Http404("No such user.")
    context = {
        **admin.site.each_context(request),
        "title": f"Customer 360: {view.customer.display_name or view.customer.username}",
        "v": view,
    }
    return render(request, "admin/alerts/customer360.html", context)


# admin_view: anonymous and non-staff users are sent to the admin login; never cached.
customer360_view = admin.site.admin_view(customer360_page)
