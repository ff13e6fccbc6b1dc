"""How django-allauth fits TradeLink: its emails leave after the commit, in our email look.

allauth sends the password-reset, verification and change-of-email messages from inside its views,
some of them within a database transaction.  An SMTP call must not hold a transaction open (a slow
mail server would hold row locks), so the message is rendered now and sent on commit; a send that
fails is logged and the person asks again (the pages say a link is on its way, never why it failed).
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

log = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Sign-up is our own page (customer or tradesperson: marketplace/accounts/views.signup).
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context = {**context, "site_url": settings.NOTIFICATIONS["SITE_URL"]}
        msg = self.render_mail(template_prefix, email, {"email": email, **context})

        def send() -> None:
            try:
                msg.send()
            except Exception:  # SMTP down or refusing: the person can ask again; the reason stays in the log
                log.exception("account email %s to a user could not be sent", template_prefix)

        transaction.on_commit(send)
