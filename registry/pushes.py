"""Pushgateway-compatible writes: push (PUT replaces the group, POST only the names it carries), delete,
wipe, and the failure timestamp.

A push costs the same with 1 or 50,000 stored series: it parses its own body, checks the types of its own
names (one indexed SELECT) and upserts its own row. Pushgateway instead copies and re-gathers the whole
store on every push for its consistency check; the per-name type table gives the same guarantee (no
scrape can fail) without reading other groups.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, Organization
from portal.prepared import prepared_cursor
from registry import sql
from registry.grouping import group_labels, grouping_key
from registry.models import PushGroup, RegistryPolicy
from registry.pushparse import parse_push
from registry.services import limits
from registry.textformat import PushRefused, render_labels
from registry.types import types_claim, types_release_unused


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _ttl_sql() -> str:
    """The group's TTL: ?ttl=, else the organization's policy, else REGISTRY_GROUP_TTL_SECONDS (0: none)."""
    policy = RegistryPolicy._meta.db_table
    return f"NULLIF(COALESCE(%s, (SELECT default_group_ttl_seconds FROM {policy} WHERE organization_id = %s), %s), 0)"  # noqa: S608


def group_push(
    *,
    organization: Organization,
    grouping: dict[str, str],
    body: str,
    replace: bool,
    ttl_seconds: int | None = None,
    api_key: ApiKey | None = None,
) -> None:
    """Store a push, or refuse it (400, nothing stored but the group's push_failure_time_seconds)."""
    key = grouping_key(grouping)
    try:
        parsed = parse_push(body, grouping, limits())
    except PushRefused:
        group_record_failure(organization=organization, grouping=grouping)
        raise
    now = sql.ts(timezone.now())
    ttl = _ttl_sql()
    ttl_params = [ttl_seconds, organization.id, settings.REGISTRY_GROUP_TTL_SECONDS]
    families = sql.json_merge(f"{sql.GROUPS}.families", "EXCLUDED.families") if not replace else "EXCLUDED.families"
    jp = sql.json_param()
    values = f"%s, %s, {jp}, %s, {jp}, %s, NULL, {ttl}, {sql.plus_seconds('%s', ttl)}, %s"
    upsert = (
        "ON CONFLICT (organization_id, grouping_key) DO UPDATE SET "
        f"families = {families}, pushed_at = EXCLUDED.pushed_at, ttl_seconds = EXCLUDED.ttl_seconds, "
        "expires_at = EXCLUDED.expires_at, pushed_by_id = EXCLUDED.pushed_by_id"
    )
    labels = group_labels(grouping)
    params = [organization.id, key, _dumps(labels), render_labels(labels), _dumps(parsed.families), now]
    params += [*ttl_params, now, *ttl_params]
    params.append(api_key.id if api_key is not None else None)
    types = parsed.types()
    if sql.is_postgres() and _push_known_names(organization.id, types, values, upsert, params):
        return
    with transaction.atomic():
        problem = types_claim(organization_id=organization.id, wanted=types)
        if problem is None:
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {sql.GROUPS} ({_COLUMNS}) VALUES ({values}) {upsert}", params)  # noqa: S608
    if problem is not None:
        group_record_failure(organization=organization, grouping=grouping)
        raise PushRefused(f"pushed metrics are inconsistent with stored ones: {problem}")


_COLUMNS = (
    "organization_id, grouping_key, labels, rendered_labels, families, pushed_at, failed_at, ttl_seconds, expires_at, "
    "pushed_by_id"
)


def _push_known_names(organization_id: int, types: dict[str, str], values: str, upsert: str, params: list[Any]) -> bool:
    """The steady state (every name already has this type): one autocommit statement, one round trip, that
    upserts the group only if all its names are known with these types. False: some name is new or of another
    type, and the caller takes the transactional path. Race-free because a claimed type never changes (only a
    wipe releases names).

    The names travel as one JSON object (psycopg dumps Python lists element by element). With
    REGISTRY_PUSH_ASYNC_COMMIT (default on) the statement's own transaction commits without waiting for the
    WAL flush (`set_config(..., true)` is local to it): the fsync was half of a push's time in the database.
    A clean PostgreSQL restart still loses nothing; a crash of the database host can lose the pushes of its
    last ~0.6 s (3 x wal_writer_delay), which their jobs send again on their next run — Pushgateway itself
    persists every 5 minutes. Gauge updates (increments are not idempotent) always commit synchronously."""
    asynchronous = bool(getattr(settings, "REGISTRY_PUSH_ASYNC_COMMIT", True))
    commit = ", max(set_config('synchronous_commit', 'off', true))" if asynchronous else ""
    statement = (
        "WITH want(name, kind) AS (SELECT key, value FROM jsonb_each_text(%s::jsonb)), "  # noqa: S608
        f"ok AS (SELECT count(*) AS n FROM {sql.TYPES} t JOIN want w ON t.name = w.name AND t.kind = w.kind "
        "WHERE t.organization_id = %s), "
        f"up AS (INSERT INTO {sql.GROUPS} ({_COLUMNS}) SELECT {values} WHERE (SELECT n FROM ok) = %s {upsert} "
        f"RETURNING 1) SELECT count(*){commit} FROM up"
    )
    with prepared_cursor() as cursor:  # prepared once per connection (the statement's text is fixed)
        cursor.execute(statement, [_dumps(types), organization_id, *params, len(types)])
        return bool(cursor.fetchone()[0])


def group_record_failure(*, organization: Organization, grouping: dict[str, str]) -> None:
    """push_failure_time_seconds = now; a new group is created empty, as Pushgateway does."""
    now = sql.ts(timezone.now())
    labels = group_labels(grouping)
    jp = sql.json_param()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sql.GROUPS} (organization_id, grouping_key, labels, rendered_labels, families, failed_at) "  # noqa: S608
            f"VALUES (%s, %s, {jp}, %s, {jp}, %s) "
            "ON CONFLICT (organization_id, grouping_key) DO UPDATE SET failed_at = EXCLUDED.failed_at",
            [organization.id, grouping_key(grouping), _dumps(labels), render_labels(labels), "{}", now],
        )


def group_delete(*, organization: Organization, grouping: dict[str, str]) -> bool:
    deleted, _ = PushGroup.objects.filter(organization=organization, grouping_key=grouping_key(grouping)).delete()
    return bool(deleted)


@transaction.atomic
def groups_wipe(*, organization: Organization) -> int:
    """Every pushed group of the organization, in one DELETE (5,000 groups: milliseconds)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {sql.GROUPS} WHERE organization_id = %s", [organization.id])  # noqa: S608
        deleted = cursor.rowcount
    types_release_unused(organization_id=organization.id)
    return int(deleted)
