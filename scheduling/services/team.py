"""A business's team: invitations by email, accepting one (a login tied to a worker), roles, deactivation.

Only the business's owner manages the team (``scheduling.team.can_see_money`` is the same rule).
Invitation emails leave after the transaction commits, through the account email adapter
(``marketplace.accounts.adapter``), never inside it.  The token is in the link only; the database keeps
its SHA-256 hash, so a leaked table opens no account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError

from ..models import Invitation, Worker, WorkingHours
from .common import DEFAULT_HOURS
from .workers import _availability_changed

MEMBER_ROLES = (Worker.Role.DISPATCHER, Worker.Role.TECHNICIAN)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_owner(owner: User) -> None:
    if not owner.is_tradesperson:
        raise ServiceError("Only the owner of a business manages its team.", code="forbidden", kind=Refusal.FORBIDDEN)


def _check_role(role: str) -> Worker.Role:
    if role not in MEMBER_ROLES:
        raise ServiceError("Choose dispatcher or technician.", code="bad_role", kind=Refusal.INVALID)
    return Worker.Role(role)


def _business_name(owner: User) -> str:
    profile = getattr(owner, "pro_profile", None)
    return (profile.business_name if profile is not None else "") or owner.display_name or owner.username


def _new_token(invitation: Invitation) -> str:
    """A fresh token (and expiry) for ``invitation``; any earlier link stops working."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = token_hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(hours=settings.TEAM_INVITATION_TTL_HOURS)
    return token


def _email_on_commit(invitation: Invitation, token: str) -> None:
    """Queue the invitation email; the account adapter sends it after the commit (a send that fails is logged)."""
    context = {
        "business_name": _business_name(invitation.owner),
        "name": invitation.name,
        "role": invitation.get_role_display().lower(),
        "join_url": settings.NOTIFICATIONS["SITE_URL"].rstrip("/") + reverse("team-join", args=[token]),
        "expires_at": invitation.expires_at,
    }
    get_adapter().send_mail("scheduling/email/team_invitation", invitation.email, context)


def invitation_send(*, owner: User, email: str, name: str, role: str) -> Invitation:
    """Invite ``email`` to ``owner``'s team as ``role`` (dispatcher or technician); the link is emailed after the commit.

    Refuses an address that already has a TradeLink login (one login belongs to one person) and a second
    pending invitation to the same address (resend that one instead).
    """
    _check_owner(owner)
    member_role = _check_role(role)
    email, name = email.strip().lower(), " ".join(name.split())
    if not name:
        raise ServiceError("Give the person's name.", code="name_required", kind=Refusal.INVALID)
    if User.objects.filter(email__iexact=email).exists() or EmailAddress.objects.filter(email__iexact=email).exists():
        raise ServiceError(
            "That email address already has a TradeLink login. Invite them with another address.", code="email_taken", kind=Refusal.CONFLICT
        )
    invitation = Invitation(owner=owner, email=email, name=name, role=member_role)
    token = _new_token(invitation)
    try:
        with transaction.atomic():
            invitation.save()
            _email_on_commit(invitation, token)
    except IntegrityError as exc:
        raise ServiceError(
            "This person already has an invitation waiting. Resend it instead.", code="already_invited", kind=Refusal.CONFLICT
        ) from exc
    return invitation


def _pending_of(owner: User, invitation: Invitation) -> Invitation:
    _check_owner(owner)
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk, owner=owner).first()
    if locked is None:
        raise ServiceError("No such invitation.", code="not_found", kind=Refusal.NOT_FOUND)
    if locked.status != Invitation.Status.PENDING:
        raise ServiceError("This invitation was already accepted or withdrawn.", code="not_pending", kind=Refusal.CONFLICT)
    return locked


def invitation_resend(*, owner: User, invitation: Invitation) -> Invitation:
    """Email a new link with a new expiry; the old link stops working."""
    with transaction.atomic():
        locked = _pending_of(owner, invitation)
        token = _new_token(locked)
        locked.save(update_fields=["token_hash", "sent_at", "expires_at"])
        _email_on_commit(locked, token)
    return locked


def invitation_revoke(*, owner: User, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation: its link shows that it was withdrawn."""
    with transaction.atomic():
        locked = _pending_of(owner, invitation)
        locked.status = Invitation.Status.REVOKED
        locked.save(update_fields=["status"])
    return locked


def invitation_problem(invitation: Invitation | None) -> str:
    """Why this link cannot be used, as a sentence for the person holding it ("" when it can)."""
    if invitation is None:
        return "This invitation link is not valid. Ask the business to send you a new one."
    if invitation.status == Invitation.Status.ACCEPTED:
        return "This invitation was already used. Sign in with the password you chose."
    if invitation.status == Invitation.Status.REVOKED:
        return "This invitation was withdrawn by the business. Ask them if you think this is a mistake."
    if invitation.expires_at <= timezone.now():
        return "This invitation has expired. Ask the business to send you a new one."
    return ""


def invitation_for_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("owner__pro_profile").filter(token_hash=token_hash(token)).first()


def invitation_accept(*, token: str, password: str) -> User:
    """Make the invited person's login (user role ``team``, email verified by the link) and their worker, once.

    The worker gets the default working hours in the business's time zone and the invitation's role;
    capacity read models hear of it (``worker.availability_changed``).  Raises ServiceError for a
    link that cannot be used (410 ``invitation_unusable``) or a weak password (400).
    """
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("owner").filter(token_hash=token_hash(token)).first()
        problem = invitation_problem(invitation)
        if invitation is None or problem:
            raise ServiceError(problem, code="invitation_unusable", kind=Refusal.CONFLICT)
        owner = invitation.owner
        user = User(
            username=invitation.email, email=invitation.email, role=User.Role.TEAM, display_name=invitation.name, time_zone=owner.time_zone
        )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), code="weak_password", kind=Refusal.INVALID) from exc
        if User.objects.filter(username__iexact=user.username).exists() or User.objects.filter(email__iexact=user.email).exists():
            raise ServiceError(
                "That email address already has a TradeLink login. Sign in with it, or ask the business to invite another address.",
                code="email_taken",
                kind=Refusal.CONFLICT,
            )
        user.set_password(password)
        user.save()
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        worker = Worker.objects.create(owner=owner, user=user, name=invitation.name, role=invitation.role, time_zone=owner.time_zone)
        WorkingHours.objects.bulk_create([WorkingHours(worker=worker, weekday=d, start=s, end=e) for d, s, e in DEFAULT_HOURS])
        _availability_changed(worker, "created", actor_id=user.pk)
        invitation.status, invitation.accepted_at, invitation.worker = Invitation.Status.ACCEPTED, timezone.now(), worker
        invitation.save(update_fields=["status", "accepted_at", "worker"])
    return user


def _member_of(owner: User, worker: Worker) -> Worker:
    _check_owner(owner)
    locked = Worker.objects.select_for_update(of=("self",)).select_related("user").filter(pk=worker.pk, owner=owner).first()
    if locked is None:
        raise ServiceError("No such team member.", code="not_found", kind=Refusal.NOT_FOUND)
    if locked.role == Worker.Role.OWNER:
        raise ServiceError("The owner's own role and login cannot be changed here.", code="owner_fixed", kind=Refusal.FORBIDDEN)
    return locked


def member_set_role(*, owner: User, worker: Worker, role: str) -> Worker:
    """Make a member a dispatcher or a technician (takes effect on their next page)."""
    member_role = _check_role(role)
    with transaction.atomic():
        locked = _member_of(owner, worker)
        locked.role = member_role
        locked.save(update_fields=["role"])
    return locked


def member_deactivate(*, owner: User, worker: Worker) -> Worker:
    """Stop a member working for the business: their worker takes no new bookings and their login is switched off.

    Django refuses an inactive user's session and API token, so they are signed out everywhere at once.
    Their booked appointments stay where they are for a dispatcher to move.
    """
    with transaction.atomic():
        locked = _member_of(owner, worker)
        if not locked.active:
            return locked
        locked.active = False
        locked.save(update_fields=["active"])
        if locked.user is not None and locked.user.is_team_member:
            locked.user.is_active = False
            locked.user.save(update_fields=["is_active"])
        _availability_changed(locked, "worker", actor_id=owner.pk)
    return locked
