"""Pushgateway grouping keys from URL paths: `/metrics/job/<job>{/<label>/<value>}`, `@base64` values.

Mirrors pushgateway's handler/push.go `splitLabels`: names must be label names not starting with `__`, an
odd number of components is refused, `<name>@base64/<value>` is URL-safe base64 with optional `=` padding
(the only way to send `/` or an empty value). One difference: `instance=""` is part of the key when the
path has no instance (the body's instance labels still win then, as in Pushgateway), so `/job/a` and
`/job/a/instance/` are one group; Pushgateway keeps them as two groups exposing the same series.
"""

from __future__ import annotations

import base64
import binascii
import json

from portal.api.errors import InvalidRequest
from registry.textformat import Limits, check_labels

BASE64_SUFFIX = "@base64"


def decode_base64(value: str, *, where: str) -> str:
    stripped = value.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != stripped:
            raise ValueError("not canonical URL-safe base64")
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequest(
            f"invalid base64 encoding for {where}={value[:80]!r} (URL-safe alphabet, RFC 4648)"
        ) from None


def grouping_labels(job: str, labels: str, *, job_base64: bool, limits: Limits) -> dict[str, str]:
    if job_base64:
        job = decode_base64(job, where="job")
    if not job:
        raise InvalidRequest("job name is required (an empty job needs no key: send job@base64/ with a value)")
    result: dict[str, str] = {}
    if labels:
        components = labels.split("/")
        if len(components) % 2:
            raise InvalidRequest(f"odd number of components in label path {labels[:200]!r} (name/value pairs)")
        if len(components) // 2 > limits.max_labels:
            raise InvalidRequest(f"more than {limits.max_labels} grouping labels (REGISTRY_MAX_LABELS)")
        for i in range(0, len(components), 2):
            name, value = components[i], components[i + 1]
            if name.endswith(BASE64_SUFFIX):
                name = name[: -len(BASE64_SUFFIX)]
                value = decode_base64(value, where=name)
            if name == "job":
                raise InvalidRequest("label 'job' is the path's /job/<job>; it cannot appear again")
            if name in result:
                raise InvalidRequest(f"label {name!r} appears twice in the path")
            result[name] = value
    result["job"] = job
    check_labels(result, limits, where="grouping key")
    return result


def group_labels(labels: dict[str, str]) -> dict[str, str]:
    """The group's own labels (push_time_seconds carries them): the path's, with instance="" if absent."""
    return {"instance": "", **labels}


def grouping_key(labels: dict[str, str]) -> str:
    """Canonical and unique: sorted JSON of the group's labels."""
    return json.dumps(group_labels(labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
