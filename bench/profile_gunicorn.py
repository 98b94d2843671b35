"""A gunicorn config file for `bench/profile_server.py`: cProfile in every worker.

Each worker (after gunicorn forked it) makes a `cProfile.Profile` and turns it on once it has
served `PROFILE_SKIP` requests (its caches warm, the benchmark's warm-up under way); when the
worker exits (gunicorn's `worker_exit` hook, run in the worker when the master stops it), it
writes its statistics to `PROFILE_DIR/worker-<pid>.prof`. By default the profiler measures
wall time, so a wait on Redis or the database counts as the request's time, as it does for a
sync worker (and so does a wait for a core on a busy machine); `PROFILE_CLOCK=cpu` measures
the worker's CPU time instead (`time.process_time`): what the code costs, waits left out.

Used only by the benchmark: `gunicorn -c bench/profile_gunicorn.py wsgi:app`, with
`PROFILE_DIR` set (without it the hooks do nothing).
"""

from __future__ import annotations

import cProfile
import os
import time
from pathlib import Path
from typing import Any

_DIR = os.environ.get("PROFILE_DIR", "")
_SKIP = int(os.environ.get("PROFILE_SKIP", "300"))
_CPU = os.environ.get("PROFILE_CLOCK", "wall") == "cpu"
_profiler: cProfile.Profile | None = None
_on = False


def post_fork(_server: Any, _worker: Any) -> None:
    global _profiler
    if _DIR:
        _profiler = cProfile.Profile(time.process_time) if _CPU else cProfile.Profile()


def pre_request(worker: Any, _req: Any) -> None:
    global _on
    if _profiler is not None and not _on and worker.nr >= _SKIP:
        _profiler.enable()
        _on = True


def worker_exit(_server: Any, _worker: Any) -> None:
    if _profiler is not None and _on:
        _profiler.disable()
        _profiler.dump_stats(str(Path(_DIR) / f"worker-{os.getpid()}.prof"))
