"""Admin building blocks shared by every app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For rows that change only through services (with their events) or projections: admins look, they do
    not add, edit or delete.  Set ``allow_delete = True`` where deleting is a legitimate clean-up."""

    allow_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and super().has_delete_permission(request, obj)  # type: ignore[misc]
