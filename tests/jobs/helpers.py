"""Only for bench/ (bench/e2e.py, http.py, profile.py, tracking.py import ``pro`` and ``trade`` from here).

Tests import them from tests.factories.  Delete this module once bench/ does too (outside tests/).
"""

from tests.factories import pro, trade

__all__ = ["pro", "trade"]
