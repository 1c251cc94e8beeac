"""The money rule.

* **In touchpoints** money is what sources send: a JSON number (``"revenue": 59.9``, as
  Segment's ecommerce spec does) or a decimal string (``"59.90"``), with an ISO 4217
  ``currency`` property next to it. The engine never does arithmetic on floats: it reads
  amounts with :func:`money_minor`, which goes through ``Decimal(str(value))``.
* **In triggers and state** money is an integer in minor units with its currency:
  ``<name>_minor`` (e.g. ``revenue_minor: 5990``) and ``currency: "EUR"``. The number of
  minor digits comes from ISO 4217 (JPY 0, EUR 2, KWD 3); rounding is half-even.
* ``Decimal`` values are encoded as strings by :mod:`schemas.codec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, DecimalException

__all__ = ["DEFAULT_CURRENCY_FIELD", "minor_digits", "money_minor"]

DEFAULT_CURRENCY_FIELD = "currency"

_ZERO_DIGITS = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DIGITS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
_FOUR_DIGITS = frozenset({"CLF", "UYW"})


def minor_digits(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (ISO 4217; 2 when unknown)."""
    code = currency.upper()
    if code in _ZERO_DIGITS:
        return 0
    if code in _THREE_DIGITS:
        return 3
    if code in _FOUR_DIGITS:
        return 4
    return 2


def money_minor(
    properties: Mapping[str, object],
    field: str,
    *,
    currency: str | None = None,
    currency_field: str = DEFAULT_CURRENCY_FIELD,
) -> int | None:
    """The amount ``properties[field]`` in integer minor units, or None when absent or invalid.

    The currency is ``currency`` when given, else ``properties[currency_field]``, else the
    amount is read with 2 minor digits. ``money_minor({"revenue": 59.9, "currency": "EUR"},
    "revenue") == 5990``; ``money_minor({"total": "1200", "currency": "JPY"}, "total") ==
    1200``.
    """
    value = properties.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    code = currency if currency is not None else properties.get(currency_field)
    digits = minor_digits(code) if isinstance(code, str) else 2
    try:
        amount = Decimal(str(value).strip())
        if not amount.is_finite():
            return None
        return int(amount.scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except DecimalException:  # not a number, or too many digits for the context
        return None
