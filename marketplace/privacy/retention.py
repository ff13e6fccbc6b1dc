"""Run every registered retention purge (the core's in ``core.py``, the apps' in their ``privacy.py``)."""

from __future__ import annotations

from .registry import PURGES


def purge_expired(only: list[str] | None = None) -> dict[str, int]:
    """Run each purge (or those named in ``only``) in registration order; returns rows deleted per purge."""
    return {name: purge.run() for name, purge in PURGES.items() if only is None or name in only}
