"""Which of the portal's files one `POST /api/v2/write` runs, in the order it first enters them.

Usage: .venv/bin/python scripts/trace_write.py [--root DIR]
DIR is a checkout of Beacon (default: this one), e.g. an older commit in a `git worktree`, so the walk
can be compared before and after a change (docs/architecture.md). The portal runs in-process on a fresh
SQLite file under a temporary directory; one warm-up write registers the device, the second is traced
(module imports and first-use setup do not count). Only files under DIR count: Django, DRF and the
store's drivers are left out.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    root = Path(parser.parse_args().root).resolve()
    tmp = tempfile.mkdtemp(prefix="beacon-trace-")
    os.environ.update(
        DEBUG="1", BEACON_VAR_DIR=tmp, LOG_DIR=tmp, LOG_LEVEL="ERROR", DJANGO_SETTINGS_MODULE="portal.settings"
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CACHE_URL", None)
    sys.path.insert(0, str(root))
    os.chdir(root)

    import django
    from django.core.management import call_command
    from django.test import Client

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createorg", "Trace Org", slug="trace", stdout=io.StringIO())
    out = io.StringIO()
    call_command("issuekey", org="trace", name="trace", scopes="metrics:write", stdout=out, stderr=io.StringIO())
    key = out.getvalue().strip()
    client = Client()

    def write() -> int:
        body = b"edge,device=edge-01 cpu=1.5,mem=2i"
        response = client.post(
            "/api/v2/write",
            data=body,
            content_type="text/plain",
            HTTP_AUTHORIZATION=f"Token {key}",
            HTTP_HOST="localhost",
        )
        return response.status_code

    assert write() == 204, "warm-up write failed"
    seen: dict[str, None] = {}
    prefix = str(root) + os.sep

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            filename = frame.f_code.co_filename
            if filename.startswith(prefix) and "/.venv/" not in filename and filename != __file__:
                seen.setdefault(filename[len(prefix) :], None)

    sys.setprofile(profile)
    try:
        status = write()
    finally:
        sys.setprofile(None)
    assert status == 204, f"traced write answered {status}"
    files = list(seen)
    packages = sorted({f.split("/")[0] for f in files})
    print(f"{len(files)} files in {len(packages)} packages ({', '.join(packages)}):")
    for name in files:
        print(f"  {name}")


if __name__ == "__main__":
    main()
