"""Job chat API: thin views over ``chat.services`` (writes) and ``chat.selectors`` (reads).

A job you may not see is 404 (the jobs selector decides; the worker booked on a job sees it here
too); a thread you are not in is 404 (``selectors.participant_side`` decides); seeing the
job but not being one of its chat's people (a tradesperson with only a lead, staff) is 403.  A
read-only thread refuses messages with 409 ``chat_closed``; too many messages 429 ``rate_limited``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.models import User
from marketplace.api import ErrorSerializer, errors, found, request_user, valid

from . import selectors, services
from .models import Message, Thread
from .serializers import (
    JobChatOutputSerializer,
    MessageInputSerializer,
    MessageOutputSerializer,
    MessagesOutputSerializer,
    MessagesQuerySerializer,
    ReadInputSerializer,
    ReadOutputSerializer,
)
from .streams import chat_stream

RATE_LIMITED_429 = OpenApiResponse(
    ErrorSerializer, description=f"rate_limited: more than {services.RATE_LIMIT} messages a minute. Wait and retry."
)


def message_body(message: Message, viewer: User, thread: Thread) -> dict[str, Any]:
    return {
        "id": message.pk,
        "thread": message.thread_id,
        "sender": message.sender_id,
        "sender_name": selectors.sender_name(sender=message.sender, thread=thread),
        "mine": message.sender_id == viewer.pk,
        "text": message.text,
        "masked": message.masked,
        "sent_at": message.created_at,
    }


def thread_body(thread: Thread, viewer: User) -> dict[str, Any]:
    view = selectors.thread_view(thread=thread, viewer=viewer)
    return {
        "id": thread.pk,
        "job": thread.job_id,
        "other": {"id": view.other.pk, "name": selectors.party_name(view.other), "role": view.other.role},
        "writable": view.writable,
        "closed_reason": view.closed_reason,
        "unread": view.unread,
        "seen_up_to": view.seen_up_to,
        "last_message": message_body(view.last, viewer, thread) if view.last is not None else None,
        "stream": chat_stream(thread.pk),
    }


def _thread_or_404(request: Request, thread_id: int) -> Thread:
    thread = selectors.thread_for_participant(user=request_user(request), thread_id=thread_id)
    if thread is None:
        raise exceptions.NotFound("No such chat, or not one you are in.")
    return thread


class JobChatApi(APIView):
    @extend_schema(
        tags=["chat"],
        summary="The chat threads the viewer has on a job "
        "(its customer: one per quoting tradesperson; a quoting tradesperson or the booked worker: theirs)",
        description="Threads are created on first use. After the award only the winner's thread is writable (listed first); "
        "the others stay readable. 403 not_a_participant for someone who can see the job but has no chat on it.",
        responses={200: JobChatOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        viewer = request_user(request)
        job = found(selectors.job_for_chat(user=viewer, job_id=job_id), "No such job, or not one you can see.")
        ids = [t.pk for t in services.chat_threads_open(job=job, viewer=viewer)]
        loaded = {t.pk: t for t in selectors.threads_of_job(job=job).filter(pk__in=ids)}
        threads = [loaded[pk] for pk in ids]
        body = {"job": job.pk, "threads": [thread_body(t, viewer) for t in threads]}
        return Response(JobChatOutputSerializer(body).data)


class ChatMessagesApi(APIView):
    @extend_schema(
        tags=["chat"],
        summary="Messages of a chat thread (its participants)",
        description=f"The newest {selectors.PAGE} messages in order, or (with `after`) the next {selectors.PAGE} after that id: "
        "what a page refetches after a missed live push.",
        parameters=[MessagesQuerySerializer],
        responses={200: MessagesOutputSerializer, **errors(400, 403, 404)},
    )
    def get(self, request: Request, thread_id: int) -> Response:
        thread = _thread_or_404(request, thread_id)
        query = valid(MessagesQuerySerializer, request.query_params)
        viewer = request_user(request)
        rows = selectors.messages(thread=thread, after=query["after"])
        body = {"thread": thread_body(thread, viewer), "messages": [message_body(m, viewer, thread) for m in rows]}
        return Response(MessagesOutputSerializer(body).data)

    @extend_schema(
        tags=["chat"],
        summary="Send a message in a chat thread (its participants, while the thread is writable)",
        description=f"Plain text, 1-{services.MAX_TEXT} characters (400 empty_message / message_too_long). Emails, phone numbers "
        "and card numbers are replaced with “[contact details hidden]” / “[card number removed]” before it is stored. "
        "Send an `Idempotency-Key` to make a retry (or a double click) store one message: the repeat answers 200 with "
        "the first. 409 chat_closed when the thread is read-only.",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=f"Any unique string (at most {services.CLIENT_KEY_MAX} characters), e.g. a UUID per message.",
            )
        ],
        request=MessageInputSerializer,
        responses={201: MessageOutputSerializer, 200: MessageOutputSerializer, **errors(400, 403, 404, 409), 429: RATE_LIMITED_429},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        thread = _thread_or_404(request, thread_id)
        data = valid(MessageInputSerializer, request.data)
        viewer = request_user(request)
        key = request.headers.get("Idempotency-Key", "").strip()
        message, created = services.chat_send(thread=thread, sender=viewer, text=data["text"], client_key=key)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(MessageOutputSerializer(message_body(message, viewer, thread)).data, status=code)


class ChatReadApi(APIView):
    @extend_schema(
        tags=["chat"],
        summary="Mark the other side's messages read up to a message id (its participants)",
        description="Moves forward only (idempotent); the other side sees “Seen” live.",
        request=ReadInputSerializer,
        responses={200: ReadOutputSerializer, **errors(400, 403, 404)},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        thread = _thread_or_404(request, thread_id)
        data = valid(ReadInputSerializer, request.data)
        viewer = request_user(request)
        thread = services.chat_mark_read(thread=thread, reader=viewer, up_to_message_id=data["up_to"])
        return Response(ReadOutputSerializer({"thread": thread.pk, "read_up_to": thread.read_up_to(viewer.pk)}).data)
