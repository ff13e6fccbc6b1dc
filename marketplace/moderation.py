"""Moderation rules for text the public sees: one place, shared by every public listing.

A text passes when it holds no contact details (:mod:`marketplace.masking`: phone numbers, emails, social
handles), no links, and no word from ``settings.MODERATION["BAD_WORDS"]`` (whole words, any case; operators
extend the list with ``MODERATION_BAD_WORDS``).  :func:`status_for` turns that into a :class:`Moderation`
status for a new row: ``approved`` when every text passes, ``pending`` (staff review it in the admin)
otherwise.  Staff decide pending rows: ``approved`` shows them publicly, ``rejected`` keeps them off for good.

Public listings show only approved rows; the owner's own pages and the parties to a job see everything
(already masked).  Job titles on the home page use it today (``jobs.Job.moderation_status``); reviews and
public profiles can call the same functions.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.db import models

from .masking import mask_contact_details


class Moderation(models.TextChoices):
    APPROVED = "approved", "Approved"
    PENDING = "pending", "Pending review"
    REJECTED = "rejected", "Rejected"


_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|co\.uk|uk|io|me|info|biz)\b", re.IGNORECASE)


@cache
def _bad_words(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({word.strip().lower() for word in words if word.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(word) for word in cleaned) + r")\b", re.IGNORECASE)


def flags(text: str) -> list[str]:
    """Why ``text`` cannot be shown publicly without a staff review, as short phrases for staff; empty when it passes."""
    found: list[str] = []
    if _LINK.search(text):
        found.append("a link")
    if mask_contact_details(text)[1]:
        found.append("contact details")
    bad = _bad_words(tuple(settings.MODERATION["BAD_WORDS"]))
    if bad is not None and bad.search(text):
        found.append("a word on the bad-words list")
    return found


def status_for(*texts: str) -> tuple[str, str]:
    """The status a new public text starts in, and why: approved when every text passes the rules, else pending."""
    found = [flag for text in texts for flag in flags(text)]
    if not found:
        return Moderation.APPROVED, ""
    return Moderation.PENDING, ", ".join(dict.fromkeys(found))
