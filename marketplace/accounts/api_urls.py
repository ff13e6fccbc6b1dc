from django.urls import path

from . import api

urlpatterns = [
    path("auth/signup/", api.SignUpApi.as_view(), name="api-signup"),
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("auth/logout/", api.TokenLogoutApi.as_view(), name="api-token-logout"),
    path("auth/tokens/", api.TokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/revoke-all/", api.TokenRevokeAllApi.as_view(), name="api-tokens-revoke-all"),
    path("auth/tokens/<uuid:uid>/", api.TokenRevokeApi.as_view(), name="api-token-revoke"),
]
