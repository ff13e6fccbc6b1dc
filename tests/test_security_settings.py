"""Production settings pass Django's deploy checks; responses carry the security headers; CSRF guards forms."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )


def test_production_settings_pass_the_deploy_checks() -> None:
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_ALLOWED_HOSTS="tradelink.example",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="tradelink.example")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db
def test_pages_carry_security_headers() -> None:
    response = Client().get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_forms_and_session_api_writes_need_the_csrf_token(customer) -> None:
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/accounts/login/", {"login": "cust_a", "password": "pw-123456-x"}).status_code == 403
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(customer)
    refused = signed_in.post("/api/jobs/", {"title": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
