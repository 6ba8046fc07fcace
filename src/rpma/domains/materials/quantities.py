"""Exact quantities and money: JSON numbers on the wire, integers in the database.

A quantity is kept in thousandths of its unit and money in cents. A number with more
decimals than that is refused rather than rounded (a stock keeper who types 1.2345 m
should hear that the fourth decimal is not kept), as are NaN, infinities and numbers
beyond the bounds below. The bounds keep every product and sum inside 64-bit integers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Final

from pydantic import AfterValidator, Field

from rpma.core.validation import invalid

QTY_SCALE: Final = 1000
MONEY_SCALE: Final = 100
MAX_QUANTITY: Final = 1_000_000  # one movement, in units
MAX_STOCK_MILLI: Final = 10_000_000 * QTY_SCALE  # a balance, in thousandths
MAX_UNIT_COST: Final = 1_000_000  # in the currency
MAX_INSTANT_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def scaled(value: float, scale: int) -> int:
    """``value`` times ``scale`` as an exact integer. The float's shortest repr is what
    the client wrote (``0.1`` is ``Decimal("0.1")``, not the binary approximation)."""
    exact = Decimal(repr(float(value))) * scale
    integral = exact.to_integral_value()
    if exact != integral:
        raise ValueError(f"{value} has more decimals than kept (1/{scale})")
    return int(integral)


def to_milli(value: float) -> int:
    return scaled(value, QTY_SCALE)


def to_cents(value: float) -> int:
    return scaled(value, MONEY_SCALE)


def from_milli(value: int) -> float:
    # An int divided by a power of ten is the float nearest the decimal, whose repr is
    # that decimal: 2345 / 1000 prints 2.345.
    return value / QTY_SCALE


def from_cents(value: int) -> float:
    return value / MONEY_SCALE


def maybe_milli(value: int | None) -> float | None:
    return None if value is None else from_milli(value)


def maybe_cents(value: int | None) -> float | None:
    return None if value is None else from_cents(value)


def cost_cents(unit_cost_cents: int | None, quantity_milli: int) -> int:
    """unit cost x quantity, rounded half up to the cent."""
    if unit_cost_cents is None:
        return 0
    exact = Decimal(unit_cost_cents * quantity_milli) / QTY_SCALE
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimals(scale: int, label: str) -> AfterValidator:
    def check(value: float) -> float:
        try:
            scaled(value, scale)
        except ValueError:
            places = len(str(scale)) - 1
            raise invalid(f"{label} has at most {places} decimals") from None
        return value

    return AfterValidator(check)


# A quantity moved by one call: more than zero.
PositiveQuantity = Annotated[
    float, Field(allow_inf_nan=False, gt=0, le=MAX_QUANTITY), _decimals(QTY_SCALE, "a quantity")
]
# A quantity that may be zero (waste, thresholds, a stock to set).
Quantity = Annotated[
    float, Field(allow_inf_nan=False, ge=0, le=MAX_QUANTITY), _decimals(QTY_SCALE, "a quantity")
]
# A stock level: an opening stock or a threshold, up to the largest balance kept.
StockLevel = Annotated[
    float,
    Field(allow_inf_nan=False, ge=0, le=MAX_STOCK_MILLI // QTY_SCALE),
    _decimals(QTY_SCALE, "a stock level"),
]
Money = Annotated[
    float, Field(allow_inf_nan=False, ge=0, le=MAX_UNIT_COST), _decimals(MONEY_SCALE, "an amount")
]
Instant = Annotated[int, Field(ge=0, le=MAX_INSTANT_MS, description="Unix milliseconds")]
