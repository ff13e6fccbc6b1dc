from django.urls import path

from . import views

urlpatterns = [
    path("account/privacy/", views.privacy_page, name="account-privacy"),
    path("account/privacy/my-data.json", views.download_my_data, name="account-data"),
]
