"""What a serving process (gunicorn's worker, a `flask` command) sets once the application is
built: how its garbage collector runs.

CPython collects its youngest generation whenever 700 more containers have been made than
freed. A checklist document (a hundred items, each a few dicts and lists) keeps thousands of
them alive at once, so one request set off several young collections that walked the live
document, and every 100th or so set off a full collection that walked everything the process
had built at start (the catalog, the schemas, SQLAlchemy's mappers and compiled statements:
190,000 objects, about 90 ms a full collection in the preview's process). Measured on the
clinic preview in-process: 0.22 ms a request in young collections and 0.7 ms a request in full
ones, on average.

`tune_collector` freezes what start-up built (it is kept for the process's life: a full
collection no longer walks it) and collects the youngest generation only once 10,000 more
containers have been made than freed: a request's garbage is freed by reference counting
before that, and cycles are still collected (a request's cycles, rarer, later)."""

from __future__ import annotations

import gc

# The youngest generation's threshold: above what one request keeps alive at once.
YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Freeze the objects built so far and raise the youngest generation's threshold; the
    older generations' thresholds stay CPython's."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
