"""API shapes for job chat (see chat/api.py)."""

from __future__ import annotations

from rest_framework import serializers

from .services import MAX_TEXT


class MessageInputSerializer(serializers.Serializer):
    # Length and emptiness are the service's rules (clear 400s with codes); this only bounds the body.
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT * 4)


class ReadInputSerializer(serializers.Serializer):
    up_to = serializers.IntegerField(min_value=0, help_text="The id of the newest message the reader has seen.")


class MessagesQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None, help_text="Only messages after this id.")


class PartySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField(help_text="customer or tradesperson")


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    thread = serializers.IntegerField()
    sender = serializers.IntegerField()
    sender_name = serializers.CharField()
    mine = serializers.BooleanField(help_text="Sent by the viewer.")
    text = serializers.CharField(help_text="Plain text, contact details already masked. Insert it as text, never as HTML.")
    masked = serializers.BooleanField(help_text="Contact details or a card number were hidden.")
    sent_at = serializers.DateTimeField()


class ThreadOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.IntegerField()
    other = PartySerializer(help_text="The other participant.")
    writable = serializers.BooleanField()
    closed_reason = serializers.CharField(help_text="Why the thread is read-only (empty when writable).")
    unread = serializers.IntegerField(help_text="Messages from the other side the viewer has not read.")
    seen_up_to = serializers.IntegerField(help_text="The other side has read the viewer's messages up to this id.")
    last_message = MessageOutputSerializer(allow_null=True)
    stream = serializers.CharField(help_text="The live stream of this thread (chat.<id>).")


class JobChatOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    threads = ThreadOutputSerializer(many=True)


class MessagesOutputSerializer(serializers.Serializer):
    thread = ThreadOutputSerializer()
    messages = MessageOutputSerializer(many=True)


class ReadOutputSerializer(serializers.Serializer):
    thread = serializers.IntegerField()
    read_up_to = serializers.IntegerField()
