"""When the request being handled arrived: set by the server's worker (the time it queued the
request for a thread), read by the web layers to run deadlines from arrival.

Without a value (the Flask test client, another server), callers use the reverse proxy's
`X-Request-Start` or the time a thread took the request.
"""

from __future__ import annotations

import threading

_local = threading.local()


def set_queued_at(monotonic: float | None) -> None:
    _local.queued_at = monotonic


def queued_at() -> float | None:
    return getattr(_local, "queued_at", None)
