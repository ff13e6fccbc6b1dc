"""Where each live stream stands, so a browser can tell a missed push from a normal one."""

from __future__ import annotations

from django.db import models


class LivePosition(models.Model):
    """The last sequence pushed to ``stream`` for one aggregate by one consumer (``source``).

    Each push carries ``prev_seq`` (the value before it) and ``seq``: a browser
    that last saw ``prev_seq`` is up to date; one that saw less missed something
    and refetches.  Kept per source because consumers progress independently.
    """

    stream = models.CharField(max_length=100)
    source = models.CharField(max_length=100)
    aggregate = models.CharField(max_length=160)
    last_sequence = models.PositiveBigIntegerField()
    # The value last_sequence had before the latest push (NULL after the first one).
    previous_sequence = models.PositiveBigIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "source", "aggregate"], name="live_position_unique")]

    def __str__(self) -> str:
        return f"{self.stream} {self.source} {self.aggregate}@{self.last_sequence}"
