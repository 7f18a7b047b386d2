"""The bounded per-process memos of the store: what a check or a query answered, kept until the memo is full.

Every memo holds answers that cannot change (a series' id, a field's first type, a text that passed its
check), so a memo is only ever cleared to bound its memory; a refill costs one check or query per entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MEMO_MAX = 100_000  # entries per memo


def remember(memo: dict[Any, Any], learned: Mapping[Any, Any]) -> None:
    if len(memo) + len(learned) > MEMO_MAX:
        memo.clear()  # crude but bounded
    memo.update(learned)
