"""Ticket barcodes (s360-reference §8).

A barcode is 20 digits drawn from the operating system's CSPRNG (``secrets``:
log2(10^20) = 66.4 random bits, not derived from any id) followed by one Luhn
check digit that catches typing errors (it is not a security measure).
Uniqueness across the whole store is enforced by a UNIQUE constraint; the
issuer draws again on the (astronomically rare) collision.
"""

from __future__ import annotations

import secrets

RANDOM_DIGITS = 20
LENGTH = RANDOM_DIGITS + 1


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit to append to ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled: positions that will be odd once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def new_barcode() -> str:
    body = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return body + str(luhn_check_digit(body))


def is_valid_barcode(code: str | None) -> bool:
    """Right length, digits only, and the Luhn check digit matches."""
    if not code or len(code) != LENGTH or not code.isdigit():
        return False
    return luhn_check_digit(code[:-1]) == int(code[-1])
