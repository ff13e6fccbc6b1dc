"""Re-apply pending dead letters after the cause was fixed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from marketplace.events.models import DeadLetter
from marketplace.events.replay import redrive


class Command(BaseCommand):
    help = "Re-drive pending dead letters through their consumer's handler (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--consumer", help="Only this consumer's dead letters.")
        parser.add_argument("--id", type=int, action="append", help="Only these dead letter ids.")

    def handle(self, *args: Any, **options: Any) -> None:
        letters = DeadLetter.objects.filter(status=DeadLetter.Status.PENDING).order_by("id")
        if options["consumer"]:
            letters = letters.filter(consumer=options["consumer"])
        if options["id"]:
            letters = letters.filter(id__in=options["id"])
        ok = failed = 0
        for letter in letters:
            succeeded, message = redrive(letter)
            ok += succeeded
            failed += not succeeded
            if not succeeded:
                self.stderr.write(f"dead letter {letter.id}: still failing: {message}")
        self.stdout.write(f"re-driven {ok}, still failing {failed}")
