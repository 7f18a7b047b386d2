"""gunicorn config for `bench/ingest.py --profile`: pyinstrument inside each worker, report on exit.

The profiler starts in post_fork on the worker's main thread (sync workers serve requests there) and
writes BENCH_PROFILE_OUT.<pid>.txt when the worker exits, so the profile covers the real server path:
gunicorn's HTTP parsing, WSGI, middleware, DRF, authentication, rate limiting, ingest and the store.
"""

from __future__ import annotations

import os
from typing import Any

_profiler: Any = None


def post_fork(server: Any, worker: Any) -> None:
    global _profiler
    from pyinstrument import Profiler

    _profiler = Profiler(interval=0.0005)
    _profiler.start()


def worker_exit(server: Any, worker: Any) -> None:
    if _profiler is None:
        return
    _profiler.stop()
    out = f"{os.environ['BENCH_PROFILE_OUT']}.{os.getpid()}.txt"
    with open(out, "w") as fh:
        fh.write(_profiler.output_text(unicode=False, color=False, show_all=os.environ.get("BENCH_PROFILE_ALL") == "1"))
