from django.urls import path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("accounts/tokens/", views.api_tokens, name="api-tokens-page"),
]
