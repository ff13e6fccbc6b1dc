"""Strip the metadata of job photos uploaded before it was stripped on upload, and make their thumbnails.

    manage.py clean_photos

Run it once after deploying thumbnails; it is safe to run again (photos that have a thumbnail
are skipped). Photos whose file is missing or unreadable are reported and left as they are.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobs.models import JobPhoto
from jobs.services import job_photo_clean
from marketplace.errors import ServiceError


class Command(BaseCommand):
    help = "Re-encode old job photos without metadata and make their thumbnails (skips photos that have one)."

    def handle(self, *args: Any, **options: Any) -> None:
        cleaned = failed = 0
        for photo in JobPhoto.objects.filter(thumbnail="").select_related("job").order_by("pk").iterator():
            try:
                cleaned += job_photo_clean(photo=photo)
            except (OSError, ServiceError) as exc:
                failed += 1
                self.stderr.write(f"photo {photo.pk}: {exc}")
        self.stdout.write(f"{cleaned} photo(s) cleaned, {failed} could not be read.")
