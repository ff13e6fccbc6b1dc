"""Photo files go when their rows go: a deleted job (its photos cascade), a photo staff delete in admin, a closed account.

The files are deleted after the transaction commits (``on_commit``), never inside it: the storage may be
a bucket, and a rolled-back delete must not lose a photo that is still recorded.

A trade's questions changed (staff in admin): every process's kept copy is dropped once the change commits
(``questions.questions_changed``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import questions
from .models import JobPhoto, PortfolioPhoto, QuestionChoice, TradeQuestion
from .services import delete_stored


@receiver(post_delete, sender=JobPhoto, dispatch_uid="jobs.photo_files")
@receiver(post_delete, sender=PortfolioPhoto, dispatch_uid="jobs.portfolio_files")
def delete_photo_files(sender: type[JobPhoto | PortfolioPhoto], instance: JobPhoto | PortfolioPhoto, **kwargs: Any) -> None:
    names = [instance.image.name, instance.thumbnail.name]
    transaction.on_commit(lambda: delete_stored(names))


@receiver(post_save, sender=TradeQuestion, dispatch_uid="jobs.question_saved")
@receiver(post_delete, sender=TradeQuestion, dispatch_uid="jobs.question_deleted")
@receiver(post_save, sender=QuestionChoice, dispatch_uid="jobs.choice_saved")
@receiver(post_delete, sender=QuestionChoice, dispatch_uid="jobs.choice_deleted")
def trade_questions_changed(sender: type[TradeQuestion | QuestionChoice], **kwargs: Any) -> None:
    transaction.on_commit(questions.questions_changed)
