from django.urls import path

from . import api

urlpatterns = [
    path("finance/", api.FinanceApi.as_view(), name="api-finance"),
]
