"""The per-job timeline: which events become entries, who may see each, and the sentence each viewer reads.

Who sees what (the record a dispute needs, without leaking bids between competitors):

- the customer sees every entry except the ones only for tradespeople: whom matching offered the
  job to, who opened it and whose lead was withdrawn, with their distance (``NOT_FOR_CUSTOMER``).
  The customer learns how many were invited (the job page) and meets a tradesperson when they bid;
- an entry about one tradesperson's lead, bid or quote (``tradesperson_id``) is seen by
  that tradesperson only, never by other bidders;
- job-level facts every tradesperson offered the job may know (posted, edited, cancelled,
  expired, awarded: "the customer chose another tradesperson") have ``bidders`` set;
- other job-level entries (status, appointments, payments, the visit) are for the
  customer and the awarded tradesperson;
- staff see everything.

Sentences are rendered at read time for the viewer ("you", their time zone) from the
entry's stored data; an event type without a sentence gets a readable generic one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from jobs.models import Job, Lead, TradespersonProfile
from marketplace.accounts.models import User
from marketplace.events.envelope import Envelope
from marketplace.money import format_money
from marketplace.payment_words import decline_reason

from .models import JobTimelineEntry

V = JobTimelineEntry.Visibility
Role = JobTimelineEntry.ActorRole


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    role: str  # "customer", "tradesperson" or "staff"
    zone: str = "UTC"
    awarded: bool = False  # a tradesperson who won the job


@dataclass(frozen=True)
class JobFacts:
    job_id: int
    customer_id: int
    customer_zone: str
    awarded_to: int | None
    title: str


# event type -> (visibility, about one tradesperson, job-level fact bidders may see)
RULES: dict[str, tuple[str, bool, bool]] = {
    "job.posted": (V.BOTH, False, True),
    "job.updated": (V.BOTH, False, True),
    "job.cancelled": (V.BOTH, False, True),
    "job.expired": (V.BOTH, False, True),
    "job.awarded": (V.BOTH, False, True),
    "job.status_changed": (V.BOTH, False, False),
    "job.search_widened": (V.CUSTOMER, False, False),
    "job.direct_requested": (V.BOTH, True, False),
    "job.direct_request_opened": (V.BOTH, True, False),
    "job.no_show": (V.BOTH, False, False),
    "lead.offered": (V.TRADESPERSON, True, False),
    "lead.seen": (V.TRADESPERSON, True, False),
    "lead.withdrawn": (V.TRADESPERSON, True, False),
    "bid.placed": (V.BOTH, True, False),
    "bid.revised": (V.BOTH, True, False),
    "bid.withdrawn": (V.BOTH, True, False),
    "bid.shortlisted": (V.BOTH, True, False),
    "bid.declined": (V.BOTH, True, False),
    "quote.published": (V.BOTH, True, False),
    "quote.accepted": (V.BOTH, True, False),
    "dependency.added": (V.CUSTOMER, False, False),
    "dependency.removed": (V.CUSTOMER, False, False),
    "visit.on_the_way": (V.BOTH, False, False),
    "visit.arrived": (V.BOTH, False, False),
    "visit.paused": (V.BOTH, False, False),
    "visit.resumed": (V.BOTH, False, False),
    "visit.called_off": (V.BOTH, False, False),
    "tracking.eta_drift": (V.BOTH, False, False),
    "chat.message_sent": (V.BOTH, True, False),  # a thread is between the customer and one tradesperson
}
# The customer's card is the customer's business: a declined card (deposit or balance) is shown to the
# customer and staff, never to a tradesperson (who sees the payment's status, not why a card failed).
CUSTOMER_ONLY = frozenset({"payment.failed"})
# Who was offered the job, and how far away they are, is not the customer's to see before they bid
# (checked when reading too, so entries stored before this rule stay hidden).
NOT_FOR_CUSTOMER = frozenset({"lead.offered", "lead.seen", "lead.withdrawn"})
# Noise, not history: read receipts.
NOT_ON_TIMELINE = frozenset({"chat.read"})


def job_facts_many(job_ids: Iterable[int]) -> dict[int, JobFacts]:
    """{job id: facts} for the jobs that exist, in one query."""
    rows = Job.objects.filter(pk__in=set(job_ids)).values_list("pk", "customer_id", "customer__time_zone", "tradesperson_id", "title")
    return {pk: JobFacts(pk, customer_id, zone or "UTC", awarded_to, title) for pk, customer_id, zone, awarded_to, title in rows}


# Untyped on purpose: the timeline takes every event type, including ones whose payload has no
# job_id (worker.availability_changed), and stores each payload whole, so there is no one shape
# to ask ``event.payload`` for (it refuses a key the event type lacks).


def _job_id(event: Envelope) -> int | None:
    raw_job = event.data.get("job_id", event.aggregate_id if event.aggregate_type == "job" else None)
    try:
        return int(raw_job) if raw_job is not None else None
    except (TypeError, ValueError):
        return None


def _known_role(actor_id: int | None, facts: JobFacts | None, data: dict[str, Any]) -> str | None:
    """The actor's role from the event and the job alone; None when only the user's row can tell."""
    if actor_id is None:
        return Role.SYSTEM
    if facts is not None and actor_id == facts.customer_id:
        return Role.CUSTOMER
    if actor_id in (data.get("tradesperson_id"), facts.awarded_to if facts else None):
        return Role.TRADESPERSON
    return None


def _user_roles(user_ids: set[int]) -> dict[int, str]:
    roles: dict[int, str] = {}
    for pk, role, is_staff in User.objects.filter(pk__in=user_ids).values_list("pk", "role", "is_staff"):
        if role == User.Role.TRADESPERSON:
            roles[pk] = Role.TRADESPERSON
        else:
            roles[pk] = Role.STAFF if is_staff else Role.CUSTOMER
    return roles


def entries_for(events: Sequence[Envelope]) -> list[tuple[Envelope, JobTimelineEntry, JobFacts | None]]:
    """The (unsaved) timeline entries for job events, in order, each with its job's facts (None if the
    job is gone); events that name no job have none.  A few queries for the lot, not a few per event."""
    named = [(event, job_id) for event in events if (job_id := _job_id(event)) is not None]
    if not named:
        return []
    facts_of = job_facts_many(job_id for _, job_id in named)
    data_of = {id(event): dict(event.data) for event, _ in named}
    unnamed = {d["tradesperson_id"] for d in data_of.values() if d.get("tradesperson_id") is not None and "business_name" not in d}
    names = dict(TradespersonProfile.objects.filter(user_id__in=unnamed).values_list("user_id", "business_name")) if unnamed else {}
    unknown = {
        event.actor_id
        for event, job_id in named
        if event.actor_id is not None and _known_role(event.actor_id, facts_of.get(job_id), data_of[id(event)]) is None
    }
    roles = _user_roles(unknown) if unknown else {}

    found: list[tuple[Envelope, JobTimelineEntry, JobFacts | None]] = []
    for event, job_id in named:
        d = data_of[id(event)]
        facts = facts_of.get(job_id)
        visibility, about_one, bidders = RULES.get(event.event_type, (V.BOTH, "tradesperson_id" in d, False))
        if event.event_type.startswith(("payment.", "appointment.")):
            visibility, about_one, bidders = V.BOTH, False, False
        if event.event_type in CUSTOMER_ONLY:
            visibility = V.CUSTOMER
        tradesperson_id = d.get("tradesperson_id")
        if tradesperson_id is not None and "business_name" not in d:
            d["business_name"] = names.get(tradesperson_id) or ""
        if facts is not None:
            d.setdefault("_title", facts.title)
        role = _known_role(event.actor_id, facts, d) or roles.get(event.actor_id or 0, Role.SYSTEM)
        entry = JobTimelineEntry(
            job_id=job_id,
            event_id=event.event_id,
            sequence=event.sequence,
            event_type=event.event_type,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            actor_role=role,
            visibility=visibility,
            tradesperson_id=tradesperson_id if about_one else None,
            bidders=bidders,
            data=d,
        )
        entry.summary = describe(entry, Viewer(user_id=None, role="staff"))[:500]
        found.append((event, entry, facts))
    return found


# --- who sees an entry -----------------------------------------------------------------------


def visible_to_customer(entry: JobTimelineEntry) -> bool:
    return entry.visibility in (V.BOTH, V.CUSTOMER) and entry.event_type not in NOT_FOR_CUSTOMER


def visible_to(entry: JobTimelineEntry, viewer: Viewer) -> bool:
    if viewer.role == "staff":
        return True
    if viewer.role == "customer":
        return visible_to_customer(entry)
    if entry.visibility not in (V.BOTH, V.TRADESPERSON):
        return False
    if entry.tradesperson_id is not None:
        return entry.tradesperson_id == viewer.user_id
    return entry.bidders or viewer.awarded


def tradespeople_who_see(entries: Sequence[tuple[JobTimelineEntry, JobFacts]]) -> list[list[tuple[int, str]]]:
    """For each (entry, its job's facts): (tradesperson id, time zone) of every tradesperson who may see it.

    Two queries for the lot: the leads of the jobs whose bidders see an entry, and the time zones."""
    bidder_jobs = {
        entry.job_id for entry, _ in entries if entry.visibility != V.CUSTOMER and entry.tradesperson_id is None and entry.bidders
    }
    offered: dict[int, list[int]] = {}
    if bidder_jobs:
        for job_id, tradesperson_id in Lead.objects.filter(job_id__in=bidder_jobs).order_by("pk").values_list("job_id", "tradesperson_id"):
            offered.setdefault(job_id, []).append(tradesperson_id)
    wanted: list[list[int]] = []
    for entry, facts in entries:
        ids: list[int] = []
        if entry.visibility == V.CUSTOMER:
            pass
        elif entry.tradesperson_id is not None:
            ids = [entry.tradesperson_id]
        elif entry.bidders:
            ids = list(offered.get(entry.job_id, []))
            if facts.awarded_to is not None and facts.awarded_to not in ids:
                ids.append(facts.awarded_to)
        elif facts.awarded_to is not None:
            ids = [facts.awarded_to]
        wanted.append(ids)
    everyone = {pk for ids in wanted for pk in ids}
    zones = dict(User.objects.filter(pk__in=everyone).values_list("pk", "time_zone")) if everyone else {}
    return [[(pk, zones.get(pk) or "UTC") for pk in ids if pk in zones] for ids in wanted]


def entry_json(entry: JobTimelineEntry, viewer: Viewer) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "job_id": entry.job_id,
        "sequence": entry.sequence,
        "event_type": entry.event_type,
        "occurred_at": entry.occurred_at,
        "actor_role": entry.actor_role,
        "summary": describe(entry, viewer),
    }


# --- sentences -------------------------------------------------------------------------------


def _money(value: Any) -> str:
    return format_money(value, blank="an amount")


def _when(value: Any, zone: str) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return ""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return moment.astimezone(tz).strftime("%a %d %b %Y, %H:%M") + f" ({tz.key})"


def _biz(d: dict[str, Any]) -> str:
    return d.get("business_name") or "A tradesperson"


def _is_self(entry: JobTimelineEntry, viewer: Viewer) -> bool:
    return viewer.role == "tradesperson" and viewer.user_id is not None and viewer.user_id == entry.data.get("tradesperson_id")


def _pro(entry: JobTimelineEntry, viewer: Viewer, possessive: bool = False) -> str:
    """The tradesperson the entry is about, as this viewer calls them."""
    if _is_self(entry, viewer):
        return "your" if possessive else "you"
    name = _biz(entry.data)
    if not possessive:
        return name
    return f"{name}’" if name.endswith("s") else f"{name}’s"


def _customer(viewer: Viewer) -> str:
    return "you" if viewer.role == "customer" else "the customer"


def _by(entry: JobTimelineEntry, viewer: Viewer) -> str:
    """Who made an appointment change ("by" in the data, else the actor's role)."""
    by = entry.data.get("by") or entry.actor_role
    if by == "customer":
        return _customer(viewer)
    if by == "tradesperson":
        return "you" if viewer.role == "tradesperson" else "the tradesperson"
    return "we" if by == "system" else "staff"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _actor(entry: JobTimelineEntry, viewer: Viewer) -> str:
    role = entry.actor_role
    if role == Role.CUSTOMER:
        return _customer(viewer)
    if role == Role.TRADESPERSON:
        return "you" if viewer.role == "tradesperson" and viewer.user_id == entry.actor_id else "the tradesperson"
    return "we" if role == Role.SYSTEM else "staff"


STATUS_TEXT = {
    "scheduled": "The job was scheduled.",
    "in_progress": "Work started.",
    "completed": "The work was marked completed.",
    "awarded": "The job was awarded.",
}


def _job_posted(e: JobTimelineEntry, v: Viewer) -> str:
    title = e.data.get("title") or e.data.get("_title") or ""
    return f"{_cap(_customer(v))} posted the job “{title}”."


def _job_cancelled(e: JobTimelineEntry, v: Viewer) -> str:
    reason = (e.data.get("reason") or "").strip()
    return f"{_cap(_actor(e, v))} cancelled the job" + (f": {reason}" if reason else ".")


def _job_no_show(e: JobTimelineEntry, v: Viewer) -> str:
    fee = e.data.get("fee")
    late = int(settings.PAYMENTS["PRO_NO_SHOW_MINUTES"])
    if e.data.get("side") == "tradesperson":
        if v.role == "tradesperson":
            return f"You had not arrived {late} minutes after the start, so the customer cancelled free; it counts as a no-show for you."
        return f"The tradesperson had not arrived {late} minutes after the start, so cancelling was free; it counts against them."
    if v.role == "customer":
        return f"The tradesperson waited on site and could not find you, so the job was cancelled with a call-out fee of {_money(fee)}."
    return f"You reported the customer absent after waiting on site; the job was cancelled with a call-out fee of {_money(fee)}."


def _job_awarded(e: JobTimelineEntry, v: Viewer) -> str:
    d = e.data
    if v.role == "tradesperson":
        if v.user_id == d.get("tradesperson_id"):
            return f"The customer accepted your bid of {_money(d.get('amount'))}."
        return "The customer chose another tradesperson."
    name = _biz(d)
    return f"{_cap(_customer(v))} accepted {name}{'’' if name.endswith('s') else '’s'} bid of {_money(d.get('amount'))}."


def _status(e: JobTimelineEntry, v: Viewer) -> str:
    status = e.data.get("status", "")
    return STATUS_TEXT.get(status, f"The job went from {e.data.get('from_status', '?')} to {status}.".replace("_", " "))


def _direct_requested(e: JobTimelineEntry, v: Viewer) -> str:
    if _is_self(e, v):
        return "The customer asked you for a quote first."
    return f"{_cap(_customer(v))} asked {_biz(e.data)} for a quote first."


def _direct_request_opened(e: JobTimelineEntry, v: Viewer) -> str:
    why = "declined" if e.data.get("reason") == "declined" else "did not reply in time"
    return f"{_cap(_pro(e, v))} {why}, so other tradespeople were invited."


def _lead_offered(e: JobTimelineEntry, v: Viewer) -> str:
    try:
        where = f" ({float(e.data['distance_km']):.1f} km away)"
    except (KeyError, TypeError, ValueError):
        where = ""
    if _is_self(e, v):
        return f"You were offered this job{where}."
    return f"The job was offered to {_biz(e.data)}{where}."


def _bid_revised(e: JobTimelineEntry, v: Viewer) -> str:
    return f"{_cap(_pro(e, v))} revised the bid from {_money(e.data.get('previous_amount'))} to {_money(e.data.get('amount'))}."


def _bid_declined(e: JobTimelineEntry, v: Viewer) -> str:
    reason = (e.data.get("reason") or "").strip()
    return f"{_cap(_customer(v))} declined {_pro(e, v, True)} bid" + (f": {reason}" if reason else ".")


def _quote_published(e: JobTimelineEntry, v: Viewer) -> str:
    version = e.data.get("version", 1)
    until = parse_date(str(e.data.get("valid_until") or "")[:10])
    if int(version or 1) > 1:
        return f"{_cap(_pro(e, v))} revised the quote (version {version})."
    return f"{_cap(_pro(e, v))} sent a quote" + (f", valid until {until:%a %d %b %Y}." if until else ".")


def _quote_accepted(e: JobTimelineEntry, v: Viewer) -> str:
    d = e.data
    tier = d.get("tier") or ""
    return (
        f"{_cap(_customer(v))} accepted version {d.get('version')} of {_pro(e, v, True)} quote"
        + (f" ({tier})" if tier else "")
        + f": {_money(d.get('total'))}, deposit {_money(d.get('deposit'))}."
    )


def _deposit(e: JobTimelineEntry, v: Viewer) -> str:
    whose = "your" if v.role == "customer" else "the customer’s"
    return f"A deposit of {_money(e.data.get('amount'))} is held on {whose} card."


def _captured(e: JobTimelineEntry, v: Viewer) -> str:
    reason = (e.data.get("reason") or "").strip()
    return f"{_money(e.data.get('amount'))} was taken" + (f" ({reason.lower()})." if reason else ".")


def _refunded(e: JobTimelineEntry, v: Viewer) -> str:
    to = "you" if v.role == "customer" else "the customer"
    return f"{_money(e.data.get('amount'))} was refunded to {to}."


def _voided(e: JobTimelineEntry, v: Viewer) -> str:
    fee = e.data.get("cancellation_fee")
    text = f"The deposit hold of {_money(e.data.get('amount'))} was released"
    return text + (f" (cancellation fee {_money(fee)})." if fee not in (None, "", "0", "0.00") else ".")


def _failed(e: JobTimelineEntry, v: Viewer) -> str:
    # The gateway's code (card_declined) never reaches a person: it is worded (customer and staff only, see RULES).
    stage = "balance" if e.data.get("stage") == "balance" else "deposit"
    return f"The {stage} payment of {_money(e.data.get('amount'))} failed: {decline_reason(e.data.get('reason'))}."


def _approval_requested(e: JobTimelineEntry, v: Viewer) -> str:
    due = _when(e.data.get("approval_due_at"), v.zone)
    who = "you approve" if v.role == "customer" else "the customer approves"
    return f"Waiting until {who} the work; it is approved automatically on {due} if there is no answer."


def _approved(e: JobTimelineEntry, v: Viewer) -> str:
    tip = e.data.get("tip")
    tipped = f" with a {_money(tip)} tip" if tip not in (None, "", "0", "0.00") else ""
    if e.data.get("automatically"):
        return f"The work was approved automatically (no answer in time){tipped}."
    return f"{_cap(_customer(v))} approved the work{tipped}."


def _disputed(e: JobTimelineEntry, v: Viewer) -> str:
    return f"{_cap(_customer(v))} reported a problem with the work; our team is looking into it."


def _dispute_resolved(e: JobTimelineEntry, v: Viewer) -> str:
    outcome = {
        "release": "the full price stands",
        "partial_refund": f"{_money(e.data.get('amount'))} comes off the price",
        "full_refund": "nothing is charged for the job",
    }.get(e.data.get("resolution") or "", "it is settled")
    return f"Our team resolved the problem: {outcome}."


def _appt_booked(e: JobTimelineEntry, v: Viewer) -> str:
    return f"{_cap(_by(e, v))} booked the appointment for {_when(e.data.get('starts_at'), v.zone)}."


def _appt_rescheduled(e: JobTimelineEntry, v: Viewer) -> str:
    before = _when(e.data.get("previous_starts_at"), v.zone)
    return f"{_cap(_by(e, v))} moved the appointment to {_when(e.data.get('starts_at'), v.zone)}" + (f", was {before}." if before else ".")


def _appt_cancelled(e: JobTimelineEntry, v: Viewer) -> str:
    reason = (e.data.get("reason") or "").strip()
    return f"{_cap(_by(e, v))} cancelled the appointment on {_when(e.data.get('starts_at'), v.zone)}" + (f": {reason}" if reason else ".")


def _appt_confirmed(e: JobTimelineEntry, v: Viewer) -> str:
    return f"{_cap(_customer(v))} confirmed the appointment on {_when(e.data.get('starts_at'), v.zone)}."


def _appt_reschedule_requested(e: JobTimelineEntry, v: Viewer) -> str:
    how = " by text" if e.data.get("via") == "sms" else ""
    return f"{_cap(_customer(v))} asked{how} for another time than {_when(e.data.get('starts_at'), v.zone)}."


def _appt_flagged(e: JobTimelineEntry, v: Viewer) -> str:
    reason = (e.data.get("reason") or "").strip()
    return f"The appointment on {_when(e.data.get('starts_at'), v.zone)} needs checking" + (f": {reason}" if reason else ".")


def _appt_proposed(e: JobTimelineEntry, v: Viewer) -> str:
    times = "; ".join(_when(s, v.zone) for s in e.data.get("starts", []))
    who = "You" if v.role == "tradesperson" else "The tradesperson"
    return f"{who} proposed times: {times}."


def _appt_reminder(e: JobTimelineEntry, v: Viewer) -> str:
    soon = "tomorrow" if e.data.get("kind") == "24h" else "in an hour"
    return f"Reminder sent: the appointment is {soon}, {_when(e.data.get('starts_at'), v.zone)}."


def _visit(text: str) -> Callable[[JobTimelineEntry, Viewer], str]:
    def render(e: JobTimelineEntry, v: Viewer) -> str:
        who = "You" if v.role == "tradesperson" else "The tradesperson"
        return text.format(who=who)

    return render


def _called_off(e: JobTimelineEntry, v: Viewer) -> str:
    what = "the job was cancelled" if e.data.get("reason") == "job_cancelled" else "the appointment was cancelled"
    if v.role == "tradesperson":
        return f"Your trip was called off ({what}); location sharing stopped."
    return f"The tradesperson's trip was called off ({what}); their location is no longer shown."


def _arrived(e: JobTimelineEntry, v: Viewer) -> str:
    who = "You" if v.role == "tradesperson" else "The tradesperson"
    return f"{who} arrived" + (" (detected by location)." if e.data.get("auto") else ".")


SENTENCES: dict[str, Callable[[JobTimelineEntry, Viewer], str]] = {
    "job.posted": _job_posted,
    "job.updated": lambda e, v: f"{_cap(_customer(v))} edited the job details.",
    "job.cancelled": _job_cancelled,
    "job.no_show": _job_no_show,
    "job.expired": lambda e, v: "The job expired without an accepted bid.",
    "job.awarded": _job_awarded,
    "job.status_changed": _status,
    "job.search_widened": lambda e, v: f"We widened the search for tradespeople (round {e.data.get('match_round')}).",
    "job.direct_requested": _direct_requested,
    "job.direct_request_opened": _direct_request_opened,
    "lead.offered": _lead_offered,
    "lead.seen": lambda e, v: "You opened the lead." if _is_self(e, v) else f"{_biz(e.data)} looked at the job.",
    "lead.withdrawn": lambda e, v: (
        "The job changed and no longer matches you, so the lead was withdrawn."
        if _is_self(e, v)
        else f"The lead offered to {_biz(e.data)} was withdrawn: the job changed and no longer matches them."
    ),
    "bid.placed": lambda e, v: f"{_cap(_pro(e, v))} bid {_money(e.data.get('amount'))}.",
    "bid.revised": _bid_revised,
    "bid.withdrawn": lambda e, v: f"{_cap(_pro(e, v))} withdrew {'your' if _is_self(e, v) else 'the'} bid.",
    "bid.shortlisted": lambda e, v: f"{_cap(_customer(v))} shortlisted {_pro(e, v, True)} bid.",
    "bid.declined": _bid_declined,
    "quote.published": _quote_published,
    "quote.accepted": _quote_accepted,
    "payment.deposit_authorized": _deposit,
    "payment.captured": _captured,
    "payment.refunded": _refunded,
    "payment.voided": _voided,
    "payment.failed": _failed,
    "payment.approval_requested": _approval_requested,
    "payment.approved": _approved,
    "payment.disputed": _disputed,
    "payment.dispute_resolved": _dispute_resolved,
    "appointment.booked": _appt_booked,
    "appointment.rescheduled": _appt_rescheduled,
    "appointment.cancelled": _appt_cancelled,
    "appointment.confirmed": _appt_confirmed,
    "appointment.reschedule_requested": _appt_reschedule_requested,
    "appointment.flagged": _appt_flagged,
    "appointment.unflagged": lambda e, v: "The appointment no longer clashes with the job it depends on.",
    "appointment.proposed": _appt_proposed,
    "appointment.reminder": _appt_reminder,
    "dependency.added": lambda e, v: f"This job now waits for job #{e.data.get('depends_on_id')}.",
    "dependency.removed": lambda e, v: f"This job no longer waits for job #{e.data.get('depends_on_id')}.",
    # The visit (tracking): the tradesperson's steps on the day.
    "visit.on_the_way": _visit("{who} set off: on the way."),
    "visit.arrived": _arrived,
    "visit.paused": _visit("{who} paused the work."),
    "visit.resumed": _visit("{who} resumed the work."),
    "visit.called_off": lambda e, v: _called_off(e, v),
    "tracking.eta_drift": lambda e, v: _eta_drift(e, v),
    "chat.message_sent": lambda e, v: _chat(e, v),
}


def _eta_drift(e: JobTimelineEntry, v: Viewer) -> str:
    late = e.data.get("late_minutes")
    eta = _when(e.data.get("eta_at"), v.zone)
    text = "Running late: " + (
        f"about {late} min after the appointment starts" if late is not None else "arrival after the appointment starts"
    )
    return text + (f", expected {eta}." if eta else ".")


def _chat(e: JobTimelineEntry, v: Viewer) -> str:
    sender = e.data.get("sender_id")
    if sender is not None and sender == v.user_id:
        who = "You"
    elif sender is not None and sender == e.data.get("customer_id"):
        who = "The customer"
    else:
        who = _cap(_pro(e, v)) if not _is_self(e, v) else "The customer"
    text = " ".join(str(e.data.get("text") or "").split())
    quote = text if len(text) <= 140 else text[:139] + "…"
    return f"{who} sent a message" + (f": “{quote}”" if quote else ".")


def generic_sentence(entry: JobTimelineEntry, viewer: Viewer) -> str:
    """For an event type with no sentence yet: "Review posted (by the customer)."."""
    words = entry.event_type.replace("_", " ").split(".")
    text = _cap(" ".join(w for w in words if w).strip())
    who = _actor(entry, viewer)
    return f"{text} (by {who})." if entry.actor_role != Role.SYSTEM else f"{text}."


def describe(entry: JobTimelineEntry, viewer: Viewer) -> str:
    render = SENTENCES.get(entry.event_type, generic_sentence)
    try:
        return render(entry, viewer)
    except (KeyError, TypeError, ValueError):
        return generic_sentence(entry, viewer)
