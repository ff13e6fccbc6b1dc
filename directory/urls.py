from django.urls import path

from . import views

urlpatterns = [
    path("pros/", views.directory, name="directory"),
]
