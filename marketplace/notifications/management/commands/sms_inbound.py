"""SIMULATED provider: "send" a text to the site, signed as the simulated SMS provider signs it.

    python manage.py sms_inbound +447700900123 C
    python manage.py sms_inbound +447700900123 "R" --url http://localhost:8000

It POSTs to ``/webhooks/sms/simulated/`` over HTTP, exactly as the provider would, so the whole path
(signature, storage, ``sms.received``, the scheduling handler, the reply SMS) runs.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from marketplace.notifications.inbound import SIGNATURE_HEADER, SimulatedInboundAdapter, simulated_request


class Command(BaseCommand):
    help = "Send a simulated inbound SMS (signed) to the site's webhook, as if a person had texted us."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("from_number", help="The sender, E.164, e.g. +447700900123 (the customer's number in their settings).")
        parser.add_argument("text", help='What they texted, e.g. "C" or "R".')
        parser.add_argument("--url", default=settings.NOTIFICATIONS["SITE_URL"], help="The site (default SITE_URL).")
        parser.add_argument("--id", default="", help="The provider's message id (default: a new one). Repeat it to test idempotency.")

    def handle(self, *args: Any, **options: Any) -> None:
        body, signature = simulated_request(from_number=options["from_number"], body=options["text"], message_id=options["id"])
        url = options["url"].rstrip("/") + reverse("sms-webhook", args=[SimulatedInboundAdapter.name])
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url must start with http:// or https://.")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only, checked above
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) only, checked above
                self.stdout.write(f"{response.status} {response.read().decode()}")
        except urllib.error.HTTPError as exc:
            raise CommandError(f"{exc.code} {exc.read().decode()}") from exc
        except urllib.error.URLError as exc:
            raise CommandError(f"Could not reach {url}: {exc.reason}. Is the site running?") from exc
