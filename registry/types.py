"""One type per metric name per organization (gauges and pushed groups alike), claimed on first use.

A scrape that met one name with two types (or a histogram `h` next to a gauge `h_count`) would fail as a
whole in Prometheus, so the conflict is refused when it is written, never when it is read.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from registry import sql
from registry.textformat import related_names

_SPLIT = frozenset({"histogram", "summary"})


def _existing(organization_id: int, names: list[str]) -> dict[str, str]:
    clause, params = sql.in_list(names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name, kind FROM {sql.TYPES} WHERE organization_id = %s AND name {clause}",  # noqa: S608
            [organization_id, *params],
        )
        return dict(cursor.fetchall())


def _conflict(wanted: dict[str, str], existing: dict[str, str]) -> str | None:
    for name, kind in wanted.items():
        have = existing.get(name)
        if have is not None and have != kind:
            return f"metric {name!r} is already a {have} in this organization; it cannot also be a {kind}"
        for other in related_names(name, kind):
            other_kind = existing.get(other) or (wanted.get(other) if other != name else None)
            if other_kind is not None and (kind in _SPLIT or other_kind in _SPLIT):
                return f"metric {name!r} ({kind}) collides with {other!r} ({other_kind}) in one exposition"
    return None


def types_claim(*, organization_id: int, wanted: dict[str, str]) -> str | None:
    """Record the types of `wanted` names (name -> kind); the conflict's message, or None when all fit.

    Runs inside the caller's transaction. A name claimed concurrently with another type is seen on the
    re-read after the insert (ON CONFLICT waits for the other transaction), so both cannot win.
    """
    if not wanted:
        return None
    names = list(wanted)
    related = {r for name, kind in wanted.items() for r in related_names(name, kind)}
    existing = _existing(organization_id, names + sorted(related - wanted.keys()))
    problem = _conflict(wanted, existing)
    if problem:
        return problem
    missing = [name for name in names if name not in existing]
    if not missing:
        return None
    values = ",".join(["(%s, %s, %s)"] * len(missing))
    params: list[Any] = []
    for name in missing:
        params += [organization_id, name, wanted[name]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sql.TYPES} (organization_id, name, kind) VALUES {values} "  # noqa: S608
            "ON CONFLICT (organization_id, name) DO NOTHING",
            params,
        )
        inserted = cursor.rowcount
    if inserted == len(missing):
        return None
    return _conflict(wanted, _existing(organization_id, names))


def types_release_unused(*, organization_id: int) -> int:
    """After a wipe: names no gauge uses are free again (pushed groups are gone)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {sql.TYPES} WHERE organization_id = %s AND name NOT IN "  # noqa: S608
            f"(SELECT name FROM {sql.GAUGES} WHERE organization_id = %s)",
            [organization_id, organization_id],
        )
        return cursor.rowcount
