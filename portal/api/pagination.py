"""Cursor pagination for every list endpoint: `{"next", "previous", "results"}`.

A cursor encodes a position in a unique ordering (the row's key), not an offset, so rows inserted or deleted
while a client walks the pages never make it see a pre-existing row twice or skip one; rows inserted behind the
position are simply not on later pages. A view names its order with `ordering` (a field, or fields, that are
unique within what it lists, e.g. `"name"` within one organization); the default is `-pk`, newest first.
Bad cursors and page sizes are the project's JSON 400, saying which parameter was wrong.
"""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from portal.api.errors import InvalidRequest

DEFAULT_PAGE_SIZE = int(api_settings.PAGE_SIZE or 100)
MAX_PAGE_SIZE = 1000
# The 400 a list endpoint documents (extend_schema responses of every paginated view).
BAD_PAGE = "Bad `cursor` or `page_size` (named in `message`)."


class CursorPagination(pagination.CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"
    ordering: Any = "-pk"
    cursor_query_description = "Opaque position from a previous answer's `next` or `previous` link."
    page_size_query_description = f"Rows per page, 1 to {MAX_PAGE_SIZE}; default {DEFAULT_PAGE_SIZE}."

    def get_ordering(self, request: Request, queryset: Any, view: APIView) -> tuple[str, ...]:
        # The view's own order wins; DRF's version only looks at OrderingFilter, which no view uses.
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise InvalidRequest(f"parameter 'page_size': {raw[:40]!r} is not an integer") from None
        if not 1 <= size <= self.max_page_size:
            raise InvalidRequest(f"parameter 'page_size': {size} is outside 1..{self.max_page_size}")
        return size

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF answers a bad cursor with 404; it is a bad parameter, so 400
            raise InvalidRequest(
                "parameter 'cursor': not a cursor this API issued; use the `next` or `previous` link of a "
                "previous answer, or leave it out for the first page"
            ) from None

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["required"] = ["next", "previous", "results"]
        return answer
