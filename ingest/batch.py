"""A parsed write: its points and where each came from in the body, as data (not text to parse back)."""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.api.errors import ApiError
from timeseries.base import Point


@dataclass(slots=True)
class Batch:
    points: list[Point] = field(default_factory=list)
    # Line-protocol bodies: the 1-based body line of each point.
    lines: list[int] | None = None
    # JSON list bodies: point i is item i. A single JSON object is "body".
    items: bool = False

    def where(self, point: int) -> str:
        if self.lines is not None:
            return f"line {self.lines[point]}"
        return f"item {point}" if self.items else "body"

    def locate(self, error: ApiError) -> ApiError:
        """`error` about point N (error.point) restated as the client knows it: "line 3: ..." with `line`.

        JSON items are named in the message only ("item 2: ..."), as they always were for write-time errors.
        """
        if error.point is None or not 0 <= error.point < len(self.points):
            return error
        i = error.point
        return type(error)(
            f"{self.where(i)}: {error.message}",
            line=self.lines[i] if self.lines is not None else error.line,
            index=error.index,
            retry_after=error.retry_after,
        )
