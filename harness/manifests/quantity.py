"""Kubernetes resource quantities (``500m``, ``2``, ``128Mi``, ``1G``, ``1e3``) as exact numbers."""

from __future__ import annotations

import re
from fractions import Fraction

_DECIMAL = {"": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX: dict[str, Fraction] = {
    "m": Fraction(1, 1000),
    **{name: Fraction(10**power) for name, power in _DECIMAL.items()},
    **{name: Fraction(2**power) for name, power in _BINARY.items()},
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$")


def parse(text: str | int | float) -> Fraction:
    """The quantity's exact value; ValueError for anything the API server would refuse."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY.pattern}'")
    number, exponent, suffix = match.groups()
    value = Fraction(number)
    if exponent:
        return value * Fraction(10) ** int(exponent[1:])
    return value * _SUFFIX[suffix or ""]
