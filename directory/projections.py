"""The ``directory-live`` consumer: a tradesperson's badges, pushed to their open public profile pages.

Each ``credential.*`` event (verified, rejected, expired, removed; aggregate ``pro``, key = the tradesperson's
user id, so one pro's changes arrive in order) pushes ``badges.changed`` with the badges the profile shows
now to ``pro.<user_id>`` (the stream the profile's reviews already use; ``reviews/streams.py`` says who may
watch it). It writes no read model: the badges are read from the credentials when the push is built, so a
redelivered or replayed event pushes the same truth again, and a page that missed a push refetches
``/api/pros/<id>/badges/``.

``content.hidden`` / ``content.restored`` (a review, reply or the profile moderated: ``reviews.moderation``)
are pushed to the same stream under their own names with only what was moderated (never its text): the
open profile refetches its reviews, and a hidden profile leaves the page.
"""

from __future__ import annotations

from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.realtime.push import send_on_commit
from reviews.events import ContentModeratedV1
from reviews.streams import pro_stream

from .presenters import badges_body
from .selectors import badges_of_pro


class DirectoryLiveHandler(EventHandler):
    def _push(self, event: Envelope) -> None:
        user_id = int(event.aggregate_id)
        send_on_commit(pro_stream(user_id), event, badges_body(badges_of_pro(user_id=user_id)), name="badges.changed")

    def on_credential_verified(self, event: Envelope) -> None:
        self._push(event)

    def on_credential_rejected(self, event: Envelope) -> None:
        self._push(event)

    def on_credential_expired(self, event: Envelope) -> None:
        self._push(event)

    def on_credential_removed(self, event: Envelope) -> None:
        self._push(event)

    def _push_moderated(self, event: Envelope) -> None:
        data = event.payload(ContentModeratedV1)
        body = {"target": data["target"], "object_id": data["object_id"]}
        send_on_commit(pro_stream(data["tradesperson_id"]), event, body)

    def on_content_hidden(self, event: Envelope) -> None:
        self._push_moderated(event)

    def on_content_restored(self, event: Envelope) -> None:
        self._push_moderated(event)
