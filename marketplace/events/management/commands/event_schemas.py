"""Check event schemas against the lock file and their payload TypedDicts, and lock newly added versions."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from marketplace.events.schemas import LOCK_FILE, all_schema_files, check_schemas, payload_type_problems, schema_hash


class Command(BaseCommand):
    help = "Check schemas for breaking changes; with --lock, record new versions as published."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--lock", action="store_true", help="Add hashes of versions not yet in lock.json.")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = check_schemas() + payload_type_problems()
        if problems:
            raise CommandError("\n".join(problems))
        if options["lock"]:
            lock: dict[str, str] = json.loads(LOCK_FILE.read_text()) if LOCK_FILE.exists() else {}
            for (name, version), path in sorted(all_schema_files().items()):
                lock.setdefault(f"{name}.v{version}", schema_hash(path))
            LOCK_FILE.write_text(json.dumps(dict(sorted(lock.items())), indent=2) + "\n")
            self.stdout.write(f"locked {len(lock)} schema versions")
        else:
            self.stdout.write("schemas are compatible and unchanged, and their TypedDicts agree with them")
