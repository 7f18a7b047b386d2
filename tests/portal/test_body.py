"""portal.api.body.inflate on its own: every member inflated, caps on members and output, truncation found."""

from __future__ import annotations

import gzip
import os

import pytest

from portal.api.body import MAX_GZIP_MEMBERS, inflate
from portal.api.errors import InvalidRequest, TooLarge

BIG = 1 << 30


def test_members_are_inflated_in_order_across_slice_boundaries() -> None:
    noise = os.urandom(200_000)  # incompressible: this member spans several of the slices zlib is fed
    members = [gzip.compress(b"a"), gzip.compress(noise), gzip.compress(b""), gzip.compress(b"z")]
    assert inflate(b"".join(members), max_inflated=BIG) == b"a" + noise + b"z"


def test_exactly_the_member_limit_is_accepted_one_more_is_413() -> None:
    member = gzip.compress(b"x")
    assert inflate(member * MAX_GZIP_MEMBERS, max_inflated=BIG) == b"x" * MAX_GZIP_MEMBERS
    with pytest.raises(TooLarge, match=f"more than {MAX_GZIP_MEMBERS} members"):
        inflate(member * (MAX_GZIP_MEMBERS + 1), max_inflated=BIG)


def test_output_cap_counts_every_member() -> None:
    member = gzip.compress(b"#" * 1000)
    assert len(inflate(member * 3, max_inflated=3000)) == 3000
    with pytest.raises(TooLarge, match="inflates to more than 2999 bytes"):
        inflate(member * 3, max_inflated=2999)


def test_a_truncated_later_member_is_400() -> None:
    with pytest.raises(InvalidRequest, match="gzip body is truncated"):
        inflate(gzip.compress(b"whole") + gzip.compress(b"cut short")[:-6], max_inflated=BIG)


def test_garbage_after_a_member_is_400() -> None:
    with pytest.raises(InvalidRequest, match="not valid gzip"):
        inflate(gzip.compress(b"ok") + b"\0\0\0\0", max_inflated=BIG)
