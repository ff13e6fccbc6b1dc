from django.urls import path

from . import api

urlpatterns = [
    path("pros/", api.DirectoryApi.as_view(), name="api-directory"),
    path("pros/<int:user_id>/badges/", api.ProBadgesApi.as_view(), name="api-pro-badges"),
]
