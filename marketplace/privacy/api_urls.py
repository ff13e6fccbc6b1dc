from django.urls import path

from . import api

urlpatterns = [
    path("me/data/", api.MyDataApi.as_view(), name="api-me-data"),
    path("me/erase/", api.EraseMeApi.as_view(), name="api-me-erase"),
]
