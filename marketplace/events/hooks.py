"""Hooks the event backbone calls without importing whoever registered them.

The backbone sits at the bottom of the core: it must not import the parts that react to it (the live
pushes of ``marketplace.realtime``, for one).  Those register a hook here in their ``AppConfig.ready()``.

A *batch hook* is a context-manager factory.  The consumer runner enters every registered one around
each attempt at a batch, outside the batch's database transaction: code before the ``yield`` runs before
the batch, code after it once the batch has committed (and not at all if the attempt failed).
``marketplace.realtime`` registers ``push.batched`` this way, so one batch's live pushes go out together
after its commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

BatchHook = Callable[[], AbstractContextManager[None]]

_batch_hooks: list[BatchHook] = []


def register_batch_hook(hook: BatchHook) -> None:
    """Add ``hook`` (once: registering it again changes nothing), to run in registration order."""
    if hook not in _batch_hooks:
        _batch_hooks.append(hook)


@contextlib.contextmanager
def around_batch() -> Iterator[None]:
    """Enter every batch hook; they exit in reverse order, as nested ``with`` blocks would."""
    with contextlib.ExitStack() as stack:
        for hook in _batch_hooks:
            stack.enter_context(hook())
        yield
