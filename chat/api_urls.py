"""Job chat API routes (see chat/api.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("jobs/<int:job_id>/chat/", api.JobChatApi.as_view(), name="api-job-chat"),
    path("chat/<int:thread_id>/messages/", api.ChatMessagesApi.as_view(), name="api-chat-messages"),
    path("chat/<int:thread_id>/read/", api.ChatReadApi.as_view(), name="api-chat-read"),
]
