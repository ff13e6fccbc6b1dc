"""Browser pages for jobs, leads, bids, the jobs board and tradesperson profiles.

The job page and the lead page show quotes and payments, so they live in ``quotes/views.py``
(quotes sits above jobs); the helpers they share are public here (``own_job``, ``own_lead``, ...).

Views are thin: a form parses what the person typed, one service in
``jobs/services.py`` does the work (and checks the rules), and a refusal
(``ServiceError``) is shown next to the field it concerns or as a flash.  Reads
go through ``jobs/selectors.py``, which decides who may see what; anything
someone may not see is a 404, anything their role cannot do is a 403.

Live pages render their streams' positions (read *before* the data, so the page
is at least as new as the positions) and the ``/api/`` URLs of the same data,
which the page's script fetches to resync after a missed push or a reconnect.
Cards a script draws too (leads, bids, board jobs) come from ``jobs/presenters.py``,
the same functions the live pushes and the API use.
"""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from marketplace import masking
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.realtime.push import positions
from marketplace.realtime.streams import user_stream

from . import credentials, places, presenters, selectors, services, vat
from .forms import (
    SERVICE_ERROR_FIELDS,
    BoardFilterForm,
    CredentialForm,
    JobEditForm,
    JobPostForm,
    PortfolioPhotoForm,
    ProfileForm,
    form_field_for,
)
from .models import Bid, Job, Lead, TradespersonProfile
from .streams import BOARD_STREAM

BOARD_LIMIT = 100
LEADS_LIMIT = 200

# --- helpers ----------------------------------------------------------------------------


def page_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required runs first; this is for the type checker
        raise PermissionDenied("Log in first.")
    return user


def _customer(request: HttpRequest) -> User:
    user = page_user(request)
    if not user.is_customer:
        raise PermissionDenied("Only customer accounts post and manage jobs.")
    return user


def _tradesperson(request: HttpRequest) -> User:
    user = page_user(request)
    if not user.is_tradesperson:
        raise PermissionDenied("This page is for tradespeople.")
    return user


def _show_service_error(form: Any, exc: ServiceError) -> None:
    """Put a service's refusal next to the field it is about, or above the form."""
    field = SERVICE_ERROR_FIELDS.get(exc.code) or form_field_for(exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _flash_service_error(request: HttpRequest, exc: ServiceError) -> None:
    messages.error(request, exc.message)


def _notice_if_hidden(request: HttpRequest, *values: object) -> None:
    """Tell the writer when masking hid something in what they typed (the text is stored masked)."""
    if masking.hidden_in(*(value for value in values if isinstance(value, str))):
        messages.info(request, masking.HIDDEN_NOTICE)


def job_aggregate(job_id: int) -> str:
    return f"job:{job_id}"


# --- home -------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"recent": selectors.public_board_entries()[:6]})


# --- customers: jobs --------------------------------------------------------------------


def _place_context() -> dict[str, Any]:
    """The place picker's first suggestions; static/js/place-picker.js asks /api/places/ as the person types."""
    return {"places": places.search("", limit=10)}


def _requested_profile(value: Any) -> TradespersonProfile | None:
    """The tradesperson a direct request names (``?pro=<id>`` or the form's hidden field), if they have a public profile."""
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        return None
    return selectors.public_profile(user_id=user_id)


@login_required
def job_new(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if request.method == "POST":
        form = JobPostForm(request.POST, request.FILES)
        requested = _requested_profile(request.POST.get("pro"))
        if form.is_valid():
            try:
                job, created = services.job_post(
                    customer=customer,
                    trade=form.cleaned_data["trade"],
                    photos=form.cleaned_data["photos"],
                    answers=form.answers(),
                    answer_photos=form.answer_photos(),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    requested_pro=requested.user if requested else None,
                    **form.job_fields(),
                )
            except ServiceError as exc:
                _show_service_error(form, exc)
            else:
                if created:
                    messages.success(
                        request,
                        f"Your job is posted and sent to {requested.business_name} first."
                        if requested
                        else "Your job is posted. Tradespeople nearby are being told about it now.",
                    )
                    _notice_if_hidden(request, *form.job_fields().values())
                return redirect("job-detail", job_id=job.pk)
    else:
        requested = _requested_profile(request.GET.get("pro"))
        initial: dict[str, Any] = {}
        if requested is not None:
            initial["pro"] = requested.user_id
            trades = list(requested.trades.all())
            if len(trades) == 1:
                initial["trade"] = trades[0].slug
        form = JobPostForm(initial=initial)
    context = {"form": form, "editing": False, "requested": requested, **_place_context()}
    return render(request, "jobs/job_form.html", context)


@login_required
def job_questions(request: HttpRequest) -> HttpResponse:
    """The job form's questions for ``?trade=<slug>`` (an HTML fragment): the form's script swaps them in when the trade changes."""
    _customer(request)
    form = JobPostForm(initial={"trade": request.GET.get("trade", "")})
    return render(request, "jobs/_questions.html", {"form": form})


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    # Bids received: every bid not withdrawn (as the board and the API count them).
    received = ~Q(bids__status=Bid.Status.WITHDRAWN)
    jobs = selectors.jobs_for_customer(customer=customer).annotate(bid_count=Count("bids", filter=received))
    return render(request, "jobs/job_list.html", {"jobs": jobs})


def own_job(request: HttpRequest, job_id: int) -> Job:
    """The customer's own job, or 404 for anyone else (no hint that it exists)."""
    user = page_user(request)
    if not user.is_customer:
        raise Http404("No such job.")
    return get_object_or_404(selectors.jobs_for_customer(customer=user), pk=job_id)


def _edit_initial(job: Job) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "trade": job.trade.slug,
        "title": job.title,
        "description": job.description,
        "place": job.place,
        "budget_min": job.budget_min,
        "budget_max": job.budget_max,
        "window_start": job.window_start,
        "window_end": job.window_end,
        "is_emergency": job.is_emergency,
    }
    known = places.by_label(job.place) if job.place else None
    if known is None or (known.latitude, known.longitude) != (job.latitude, job.longitude):
        initial.update(latitude=job.latitude, longitude=job.longitude)
    return initial


@login_required
def job_edit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = own_job(request, job_id)
    if job.status != Job.Status.OPEN:
        messages.error(request, f"This job is {job.get_status_display().lower()}, so it can no longer be edited.")
        return redirect("job-detail", job_id=job.pk)
    if request.method == "POST":
        form = JobEditForm(request.POST)
        if form.is_valid():
            # Only what changed: an untouched window that has since passed must not block an edit of the title.
            fields = {**form.job_fields(), "trade": form.cleaned_data["trade"]}
            changed = {name: value for name, value in fields.items() if getattr(job, name) != value}
            try:
                if changed:
                    services.job_update(job=job, actor=page_user(request), **changed)
            except ServiceError as exc:
                _show_service_error(form, exc)
            else:
                messages.success(request, "Job updated." if changed else "Nothing changed.")
                _notice_if_hidden(request, *(value for name, value in changed.items() if name != "trade"))
                return redirect("job-detail", job_id=job.pk)
    else:
        form = JobEditForm(initial=_edit_initial(job))
    return render(request, "jobs/job_form.html", {"form": form, "editing": True, "job": job, **_place_context()})


@login_required
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = own_job(request, job_id)
    try:
        services.job_cancel(job=job, actor=page_user(request), reason=request.POST.get("reason", "")[:500])
    except ServiceError as exc:
        _flash_service_error(request, exc)
    else:
        messages.success(request, "Job cancelled. Tradespeople who bid have been told.")
    return redirect("job-detail", job_id=job.pk)


# Accepting is quote_accept (quotes/views.py): it holds the deposit before the job is awarded.
BID_ACTIONS = {"shortlist", "decline"}


@login_required
@require_POST
def bid_decide(request: HttpRequest, job_id: int, bid_id: int, action: str) -> HttpResponse:
    """The customer shortlists or declines a bid on their job."""
    job = own_job(request, job_id)
    bid = selectors.bids_for_job(job=job, viewer=page_user(request)).filter(pk=bid_id).first()
    if bid is None or action not in BID_ACTIONS:
        raise Http404("No such bid.")
    name = bid.tradesperson.pro_profile.business_name if hasattr(bid.tradesperson, "pro_profile") else str(bid.tradesperson)
    try:
        if action == "shortlist":
            services.bid_shortlist(bid=bid, actor=page_user(request))
            messages.success(request, f"{name} is on your shortlist.")
        elif action == "decline":
            services.bid_decline(bid=bid, actor=page_user(request), reason=request.POST.get("reason", "")[:500])
            messages.success(request, f"You declined the bid from {name}.")
    except ServiceError as exc:
        _flash_service_error(request, exc)
    return redirect("job-detail", job_id=job.pk)


# --- tradespeople: leads and bids -------------------------------------------------------


def _lead_cards(user: User) -> list[dict[str, Any]]:
    leads = list(selectors.leads_for(tradesperson=user).order_by("-offered_at")[:LEADS_LIMIT])
    bids = selectors.bids_by_job(tradesperson=user, job_ids=[lead.job_id for lead in leads])
    return [presenters.lead_card(lead, lead.job, bids.get(lead.job_id)) for lead in leads]


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    user = _tradesperson(request)
    stream = user_stream(user.pk)
    job_ids = selectors.leads_for(tradesperson=user).order_by("-offered_at").values_list("job_id", flat=True)[:LEADS_LIMIT]
    live_positions = positions(stream, {job_aggregate(job_id) for job_id in job_ids})  # before the data
    live = {
        "stream": stream,
        "positions": live_positions,
        "leads_url": reverse("api-leads") + "?" + urlencode({"limit": LEADS_LIMIT}),
    }
    context = {"leads": _lead_cards(user), "live": live, "profile": selectors.public_profile(user_id=user.pk, viewer=user)}
    return render(request, "jobs/lead_list.html", context)


def own_lead(request: HttpRequest, job_id: int) -> tuple[User, Lead, Job]:
    """The tradesperson's lead for this job (404 if they were never offered it)."""
    user = page_user(request)
    if not user.is_tradesperson:
        raise Http404("No such lead.")
    lead = selectors.leads_for(tradesperson=user).filter(job_id=job_id).first()
    job = selectors.job_for_viewer(user=user, job_id=job_id)
    if lead is None or job is None:
        raise Http404("No such lead.")
    return user, lead, job


def own_bid(user: User, job: Job) -> Bid | None:
    return selectors.bids_for_job(job=job, viewer=user).filter(tradesperson=user).first()


@login_required
@require_POST
def bid_withdraw(request: HttpRequest, job_id: int) -> HttpResponse:
    user, _lead, job = own_lead(request, job_id)
    bid = own_bid(user, job)
    if bid is None:
        messages.error(request, "You have not bid on this job.")
    else:
        try:
            services.bid_withdraw(bid=bid, actor=user)
        except ServiceError as exc:
            _flash_service_error(request, exc)
        else:
            messages.success(request, "Bid withdrawn.")
    return redirect("lead-detail", job_id=job.pk)


@login_required
@require_POST
def lead_decline(request: HttpRequest, job_id: int) -> HttpResponse:
    """The requested tradesperson turns down a direct request; the customer's job goes to others."""
    user, lead, job = own_lead(request, job_id)
    try:
        services.lead_decline(lead=lead, actor=user)
    except ServiceError as exc:
        _flash_service_error(request, exc)
    else:
        messages.success(request, "You declined the request. We'll invite other tradespeople for the customer.")
    return redirect("lead-detail", job_id=job.pk)


# --- tradespeople: the jobs board -------------------------------------------------------


def _board_viewer(request: HttpRequest) -> User:
    user = page_user(request)
    if not (user.is_tradesperson or user.is_staff):
        raise PermissionDenied("The jobs board is for tradespeople.")
    return user


def _board_filters(form: BoardFilterForm, base: tuple[float, float] | None) -> selectors.BoardFilters:
    form.is_valid()
    data = getattr(form, "cleaned_data", {})  # an invalid field is shown as an error and ignored; the others still filter
    return selectors.BoardFilters(
        query=data.get("q") or "",
        trade=data.get("trade") or "",
        near=base,
        max_km=data.get("max_km") if base else None,
        budget_min=data.get("budget_min"),
        budget_max=data.get("budget_max"),
        emergency_only=bool(data.get("emergency")),
    )


def _board_api_url(filters: selectors.BoardFilters) -> str:
    """``GET /api/board/`` with the filters the page applied (the ones the form accepted), for the script's resync."""
    query: dict[str, Any] = {"limit": BOARD_LIMIT}
    if filters.query:
        query["q"] = filters.query
    if filters.trade:
        query["trade"] = filters.trade
    if filters.max_km is not None:
        query["max_km"] = filters.max_km  # from the profile's base, as the API measures it without lat/lon
    if filters.budget_min is not None:
        query["budget_min"] = filters.budget_min
    if filters.budget_max is not None:
        query["budget_max"] = filters.budget_max
    if filters.emergency_only:
        query["emergency"] = "true"
    return reverse("api-board") + "?" + urlencode(query)


def _base(user: User) -> tuple[float, float] | None:
    profile = selectors.public_profile(user_id=user.pk, viewer=user)
    return (float(profile.base_latitude), float(profile.base_longitude)) if profile else None


@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = _board_viewer(request)
    base = _base(user)
    form = BoardFilterForm(request.GET or None, has_base=base is not None)
    filters = _board_filters(form, base)
    rows = list(selectors.board(filters=filters)[:BOARD_LIMIT])
    lead_ids = selectors.lead_job_ids(tradesperson=user, job_ids=[r.job_id for r in rows])
    live = {
        "stream": BOARD_STREAM,
        # After the rows (they decide which jobs): a change in between is caught by the
        # refetch live.js runs once the subscription is confirmed.
        "positions": positions(BOARD_STREAM, {job_aggregate(r.job_id) for r in rows}),
        "api_url": _board_api_url(filters),
        "filtered": form.active,
        "base": list(base) if base else None,
        "lead_job_ids": sorted(lead_ids),
    }
    context = {"form": form, "rows": rows, "lead_ids": lead_ids, "live": live, "has_base": base is not None}
    return render(request, "jobs/board.html", context)


# --- profiles ---------------------------------------------------------------------------


def _profile_initial(user: User, profile: TradespersonProfile | None) -> dict[str, Any]:
    if profile is None:
        return {
            "business_name": user.display_name,
            "service_radius_km": 15,
            "is_accepting_leads": True,
            "vat_rate_percent": f"{(vat.standard_rate() * 100).normalize():f}",
        }
    initial: dict[str, Any] = {
        "business_name": profile.business_name,
        "trades": list(profile.trades.all()),
        "place": profile.base_place,
        "service_radius_km": profile.service_radius_km,
        "bio": profile.bio,
        "is_accepting_leads": profile.is_accepting_leads,
        "legal_name": profile.legal_name,
        "business_address": profile.business_address,
        "vat_registered": profile.vat_registered,
        "vat_number": profile.vat_number,
        "vat_rate_percent": f"{(profile.vat_rate * 100).normalize():f}",
        "declined_answers": list(profile.declined_answers),
    }
    known = places.by_label(profile.base_place) if profile.base_place else None
    if known is None or (known.latitude, known.longitude) != (profile.base_latitude, profile.base_longitude):
        initial.update(latitude=profile.base_latitude, longitude=profile.base_longitude)
    return initial


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _tradesperson(request)
    existing = selectors.public_profile(user_id=user.pk, viewer=user)
    trades = list(existing.trades.all()) if existing else []
    if request.method == "POST":
        form = ProfileForm(request.POST, trades=trades)
        if form.is_valid():
            latitude, longitude, place = form.cleaned_data["location"]
            try:
                services.pro_profile_save(
                    user=user,
                    business_name=form.cleaned_data["business_name"],
                    trades=form.cleaned_data["trades"],
                    base_latitude=latitude,
                    base_longitude=longitude,
                    base_place=place,
                    service_radius_km=form.cleaned_data["service_radius_km"],
                    bio=form.cleaned_data["bio"],
                    is_accepting_leads=form.cleaned_data["is_accepting_leads"],
                    invoicing=form.invoice_details(),
                    declined_answers=form.cleaned_data["declined_answers"],
                )
            except ServiceError as exc:
                _show_service_error(form, exc)
            else:
                _notice_if_hidden(request, form.cleaned_data["business_name"], form.cleaned_data["bio"])
                if existing is None:
                    messages.success(request, "Profile saved. New jobs that match your trades and area will arrive in Leads.")
                    return redirect("lead-list")
                messages.success(request, "Profile saved.")
                return redirect("profile")
    else:
        form = ProfileForm(initial=_profile_initial(user, existing), trades=trades)
    context = {
        "form": form,
        "profile": existing,
        "insured": selectors.is_insured(profile=existing) if existing else False,
        "stats": selectors.pro_stats(user_id=user.pk),
        "portfolio": selectors.portfolio(profile=existing) if existing else [],
        "portfolio_form": PortfolioPhotoForm(),
        "portfolio_limit": settings.JOBS["MAX_PORTFOLIO_PHOTOS"],
        **_place_context(),
    }
    return render(request, "jobs/profile.html", context)


@login_required
def profile_credentials(request: HttpRequest) -> HttpResponse:
    """The tradesperson's credentials: add one for staff to check, see where each stands, remove one."""
    user = _tradesperson(request)
    if request.method == "POST":
        form = CredentialForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                credentials.credential_add(
                    user=user,
                    kind=form.cleaned_data["kind"],
                    number=form.cleaned_data["number"],
                    expires_on=form.cleaned_data["expires_on"],
                    document=form.cleaned_data["document"],
                )
            except ServiceError as exc:
                form.add_error(
                    {"already_expired": "expires_on", "no_number": "number", "bad_kind": "kind"}.get(exc.code or ""), exc.message
                )
            else:
                messages.success(
                    request,
                    "Added. Our staff check it against the register, usually within a working day; the badge shows once it is verified.",
                )
                return redirect("profile-credentials")
    else:
        form = CredentialForm()
    context = {
        "form": form,
        "credentials": selectors.credentials_of(user=user),
        "has_profile": selectors.public_profile(user_id=user.pk, viewer=user) is not None,
    }
    return render(request, "jobs/credentials.html", context)


@login_required
@require_POST
def credential_remove(request: HttpRequest, credential_id: int) -> HttpResponse:
    user = _tradesperson(request)
    try:
        credentials.credential_remove(user=user, credential_id=credential_id)
    except ServiceError as exc:
        _flash_service_error(request, exc)
    else:
        messages.success(request, "Credential removed.")
    return redirect("profile-credentials")


def pro_public(request: HttpRequest, user_id: int) -> HttpResponse:
    pro = selectors.public_profile(user_id=user_id, viewer=request.user)
    if pro is None:
        raise Http404("No such tradesperson.")
    context = {
        "pro": pro,
        "insured": selectors.is_insured(profile=pro),
        "stats": selectors.pro_stats(user_id=user_id),
        "portfolio": selectors.portfolio(profile=pro),
    }
    return render(request, "jobs/pro_public.html", context)


@login_required
@require_POST
def portfolio_add(request: HttpRequest) -> HttpResponse:
    user = _tradesperson(request)
    form = PortfolioPhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.portfolio_photo_add(user=user, photo=form.cleaned_data["photo"], caption=form.cleaned_data["caption"])
        except ServiceError as exc:
            _flash_service_error(request, exc)
        else:
            messages.success(request, "Photo added to your portfolio.")
    else:
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
    return redirect(reverse("profile") + "#portfolio")


@login_required
@require_POST
def portfolio_delete(request: HttpRequest, photo_id: int) -> HttpResponse:
    user = _tradesperson(request)
    try:
        services.portfolio_photo_delete(user=user, photo_id=photo_id)
    except ServiceError as exc:
        _flash_service_error(request, exc)
    else:
        messages.success(request, "Photo removed from your portfolio.")
    return redirect(reverse("profile") + "#portfolio")


# --- photos -----------------------------------------------------------------------------

# A browser may keep a photo it was shown for an hour: the file behind an id never changes.
PHOTO_MAX_AGE_S = 3600


def _photo_file(field: FieldFile, *, private: bool) -> HttpResponse:
    """The stored file, or a redirect to a short-lived signed URL when the storage is a bucket (no local path).

    The bytes are read whole rather than streamed: a photo is at most ``PHOTO_MAX_SIDE`` px,
    re-encoded (about a megabyte), and under ASGI a ``FileResponse`` is iterated in a worker
    thread with a warning on every response.
    """
    if not field.name:
        raise Http404("No such photo.")
    storage = field.storage
    try:
        storage.path(field.name)
    except NotImplementedError:
        redirect_to = HttpResponseRedirect(storage.url(field.name))
        patch_cache_control(redirect_to, private=True, no_store=True)  # the signature expires: ask us again next time
        return redirect_to
    try:
        with storage.open(field.name, "rb") as handle:
            content = handle.read()
    except FileNotFoundError as exc:
        raise Http404("No such photo.") from exc
    response = HttpResponse(content, content_type=mimetypes.guess_type(field.name)[0] or "application/octet-stream")
    response["Content-Disposition"] = "inline"
    if private:
        patch_cache_control(response, private=True, max_age=PHOTO_MAX_AGE_S)
    else:
        patch_cache_control(response, public=True, max_age=PHOTO_MAX_AGE_S)
    return response


@require_GET
def job_photo(request: HttpRequest, photo_id: int, thumb: bool = False) -> HttpResponse:
    """A job's photo (or its thumbnail) for the people who may see the job's photos; 404 for anyone else.

    A photo uploaded before thumbnails existed has none yet: its original is sent instead.
    """
    photo = selectors.visible_job_photo(user=request.user, photo_id=photo_id)
    if photo is None:
        raise Http404("No such photo.")
    return _photo_file(photo.thumbnail if thumb and photo.thumbnail else photo.image, private=True)


@require_GET
def portfolio_photo(request: HttpRequest, photo_id: int, thumb: bool = False) -> HttpResponse:
    """A portfolio photo (or its thumbnail): public, as the profile page showing it is."""
    photo = selectors.public_portfolio_photo(photo_id=photo_id)
    if photo is None:
        raise Http404("No such photo.")
    return _photo_file(photo.thumbnail if thumb else photo.image, private=False)
