from django.urls import path

from . import api

urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/unread-count/", api.UnreadCountApi.as_view(), name="api-notifications-unread"),
    path("notifications/read/", api.MarkReadApi.as_view(), name="api-notifications-read"),
]
urlpatterns += [
    path("notifications/preferences/", api.PreferencesApi.as_view(), name="api-notification-preferences"),
]
