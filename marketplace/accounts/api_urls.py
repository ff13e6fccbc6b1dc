from django.urls import path

from . import api

urlpatterns = [
    path("auth/signup/", api.SignUpApi.as_view(), name="api-signup"),
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
]
