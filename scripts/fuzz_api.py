#!/usr/bin/env python3
"""Fuzz a running Beacon API: schemathesis over every operation in /api/schema/, then hand-made nasties.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/beacon_fuzz RATELIMIT_ENABLE=0 \\
        .venv/bin/gunicorn portal.wsgi -b 127.0.0.1:8765 &
    .venv/bin/python scripts/fuzz_api.py --url http://127.0.0.1:8765 --key bcn_... [--max-examples 200] [--seed 1]

The key needs every scope (`manage.py issuekey`). Writes go to the organization of the key, so use a
throwaway database. Exit status 1 when schemathesis reports a failure or a nasty answers 5xx / non-JSON.
positive_data_acceptance is excluded: the schema cannot say "within the last 30 days" or "start before end".
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import requests


def nasties(base: str, headers: dict[str, str]) -> dict[str, Callable[[], requests.Response]]:
    now = int(time.time())
    good = f"m,device=fuzz v=1 {now}".encode()

    def post(path: str, data: bytes, content_type: str | None = "text/plain", **extra: str) -> requests.Response:
        h = {**headers, **extra}
        if content_type is not None:
            h["Content-Type"] = content_type
        return requests.post(base + path, data=data, headers=h, timeout=30)

    def get(path: str, params: object) -> requests.Response:
        return requests.get(base + path, params=params, headers=headers, timeout=30)  # type: ignore[arg-type]

    js = "application/json"
    return {
        "invalid UTF-8": lambda: post("/api/v1/metrics", b"\xff\xfe"),
        "JSON number": lambda: post("/api/v1/metrics", b"42", js),
        "JSON null": lambda: post("/api/v1/metrics", b"null", js),
        "JSON deeply nested": lambda: post("/api/v1/metrics", b"[" * 100_000 + b"]" * 100_000, js),
        "JSON 5000-digit int": lambda: post(
            "/api/v1/metrics", b'{"device":"d","metrics":{"a":1' + b"0" * 5000 + b"}}", js
        ),
        "JSON lone surrogate": lambda: post("/api/v1/metrics", b'{"device":"d","metrics":{"\\udc00":1}}', js),
        "JSON same-slug devices": lambda: post(
            "/api/v1/metrics", b'[{"device":"f z","metrics":{"a":1}},{"device":"f-z","metrics":{"a":1}}]', js
        ),
        "Content-Type xml": lambda: post("/api/v1/metrics", good, "application/xml"),
        "gzip, not gzip": lambda: post("/api/v2/write?precision=s", good, **{"Content-Encoding": "gzip"}),
        "gzip truncated": lambda: post(
            "/api/v2/write?precision=s", gzip.compress(good)[:-5], **{"Content-Encoding": "gzip"}
        ),
        "deflate": lambda: post("/api/v2/write?precision=s", zlib.compress(good), **{"Content-Encoding": "deflate"}),
        "br": lambda: post("/api/v2/write?precision=s", good, **{"Content-Encoding": "br"}),
        "precision huge": lambda: post("/api/v2/write?precision=" + "9" * 400, good),
        "5000-digit timestamp": lambda: post("/api/v2/write", f"m,device=d v=1 {'9' * 5000}".encode()),
        "5000-digit integer": lambda: post("/api/v2/write", f"m,device=d v={'9' * 5000}i".encode()),
        "Arabic-Indic digits": lambda: post("/api/v2/write", "m,device=d v=\u0661i".encode()),
        "NUL and CR": lambda: post("/api/v2/write", b"m,device=d\x00 v=1\r\nm v=2\r3"),
        "history start > end": lambda: get(
            "/api/v1/history", {"device": "d", "field": "v", "start": "now", "end": "-1h"}
        ),
        "history step 0": lambda: get("/api/v1/history", {"device": "d", "field": "v", "step": "0"}),
        "history step absurd": lambda: get("/api/v1/history", {"device": "d", "field": "v", "step": "9" * 400}),
        "history step < 1ms": lambda: get("/api/v1/history", {"device": "d", "field": "v", "step": "0.0000001ms"}),
        "history start -1e9w": lambda: get("/api/v1/history", {"device": "d", "field": "v", "start": "-99999999w"}),
        "history year 0": lambda: get(
            "/api/v1/history", {"device": "d", "field": "v", "start": "0001-01-01T00:00:00+01:00"}
        ),
        "history agg unknown": lambda: get("/api/v1/history", {"device": "d", "field": "v", "agg": "median"}),
        "history field x101": lambda: get(
            "/api/v1/history", [("device", "d")] + [("field", f"f{i}") for i in range(101)]
        ),
        "history device a/b/ü": lambda: get("/api/v1/history", {"device": "a/b/ü", "field": "v"}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL of the running API, e.g. http://127.0.0.1:8765")
    parser.add_argument("--key", required=True, help="an all-scopes API key (bcn_...)")
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-schemathesis", action="store_true")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    headers = {"Authorization": f"Bearer {args.key}"}
    failed = False
    if not args.skip_schemathesis:
        # 414 is gunicorn refusing a long URL (limit_request_line) before Django: a rejection like any 4xx.
        config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)  # noqa: SIM115
        with config:
            config.write(
                "[checks.negative_data_rejection]\n"
                "expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429]\n"
            )
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            config.name,
            "run",
            f"{base}/api/schema/?format=json",
            "-H",
            f"Authorization: Bearer {args.key}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--workers",
            "1",  # the coverage phase crashes inside hypothesis' lambda-source cache under threads (4.32.5)
            "--continue-on-failure",
            "--suppress-health-check",
            "all",
        ]
        try:
            failed |= subprocess.run(command, check=False).returncode != 0
        finally:
            Path(config.name).unlink()
    print("\n== hand-made nasties ==")
    for name, call in nasties(base, headers).items():
        response = call()
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        bad = response.status_code >= 500 or (response.status_code != 204 and not is_json)
        failed |= bad
        print(f"{'FAIL' if bad else 'ok  '} {name:26} {response.status_code} {response.text[:140]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
