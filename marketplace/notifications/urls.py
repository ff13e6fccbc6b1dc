from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/settings/", views.notification_settings, name="notification-settings"),
    path("notifications.json", views.notifications_json, name="notifications-json"),
    path("notifications/unread-count.json", views.unread_count_json, name="notifications-unread-json"),
    path("notifications/read-all/", views.mark_all_read, name="notifications-read-all"),
    path("notifications/<int:notification_id>/", views.notification_open, name="notification-open"),
    path("webhooks/sms/<slug:provider>/", views.sms_webhook, name="sms-webhook"),
]
