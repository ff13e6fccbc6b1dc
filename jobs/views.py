"""Browser pages for jobs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import board_entries


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"recent": board_entries()[:6]})
