"""How the statistics tables show their derived figures: two decimals, rounded half up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def ratio(a: int, b: int, scale: int = 1) -> Decimal:
    """a × scale / b with two decimals (0.00 when b is 0)."""
    if b == 0:
        return Decimal("0.00")
    return (Decimal(a * scale) / Decimal(b)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def two_places(avg: object) -> Decimal | None:
    """An average from the database (float or Decimal, or None with nothing to average) with two decimals."""
    return Decimal(str(avg)).quantize(Decimal("0.01")) if avg is not None else None
