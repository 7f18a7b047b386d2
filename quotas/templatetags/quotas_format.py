from __future__ import annotations

from django import template

register = template.Library()

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


@register.filter
def bytes_human(value: float | int | None) -> str:
    """Decimal units (1 KB = 1000 B), as bandwidth is billed."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in _UNITS:
        if abs(amount) < 1000 or unit == _UNITS[-1]:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} PB"
