from allauth.account.views import LogoutView
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("accounts/login/", views.RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    # Our sign-up (customer or tradesperson) instead of allauth's.
    path("accounts/signup/", RedirectView.as_view(pattern_name="signup", query_string=True)),
    path("accounts/sessions/", views.SessionsView.as_view(), name="usersessions_list"),
    path("accounts/sessions/<int:pk>/end/", views.session_end, name="session-end"),
    path("accounts/", include("allauth.urls")),
    path("accounts/tokens/", views.api_tokens, name="api-tokens-page"),
]
