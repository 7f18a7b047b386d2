"""Profile the ingest hot path in-process (pyinstrument): small pushes and one 5,000-line batch.

BENCH_DB=beacon_bench_api .venv/bin/python bench/profile_ingest.py [small|batch]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import drop_bench_db, setup_django_bench_db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=["small", "batch"], default="small")
    mode = parser.parse_args().mode
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/11")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    setup_django_bench_db()
    try:
        from django.test import Client
        from pyinstrument import Profiler

        from accounts import services as accounts
        from bench.ingest import to_line_protocol
        from bench.store import make_batches

        org = accounts.organization_create(name="Bench", slug="bench")
        token = accounts.api_key_issue(
            organization=org, name="b", scopes=["metrics:write"], rate_limit="1000000/m"
        ).plaintext
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        warm = to_line_protocol(make_batches(1, lines=50)[0])
        client.post("/api/v2/write", data=warm, content_type="text/plain")
        if mode == "small":
            bodies = [f"edge,device=dev-{i % 50:03d} cpu=1.5,mem=40.2 {time.time_ns()}".encode() for i in range(300)]
        else:
            bodies = [to_line_protocol(b) for b in make_batches(3, start_ns=(time.time_ns() // 10**9 - 7200) * 10**9)]
        profiler = Profiler()
        started = time.perf_counter()
        with profiler:
            for body in bodies:
                response = client.post("/api/v2/write", data=body, content_type="text/plain")
                assert response.status_code == 204, response.content
        elapsed = time.perf_counter() - started
        print(f"{len(bodies)} requests in {elapsed:.2f} s: {elapsed / len(bodies) * 1000:.2f} ms each")
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    finally:
        drop_bench_db()


if __name__ == "__main__":
    main()
