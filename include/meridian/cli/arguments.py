"""Checks on what is typed at ``meridian``: a bad value is one line naming the option and the value, exit 2.

``Parser`` is argparse with its error as one line (``meridian reports create:
argument --first-run: ...``) instead of the usage block; the types below check
a value as it is parsed, so every command refuses it the same way, before it
touches a database. Checks that need the database (a tenant must be known) or
several options at once happen in the commands, with the same one-line form.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import NoReturn

from meridian.reports.periods import EARLIEST_DATE, LATEST_DATE
from meridian.values import shown

# a database id (bigint) is at most this
MAX_ID = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """argparse, with an error as one line on stderr (the option, the bad value, the way to help) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def in_range_date(value: str) -> date:
    """A ``YYYY-MM-DD`` date within 2000–2100."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(value)} is not a date in YYYY-MM-DD form") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise argparse.ArgumentTypeError(
            f"{shown(value)} is outside {EARLIEST_DATE.isoformat()} .. {LATEST_DATE.isoformat()}"
        )
    return day


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A type: a whole number from ``low`` (to ``high``, when given)."""

    def parse(value: str) -> int:
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        try:
            number = int(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(value)} is not a whole number {bounds}") from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"{shown(value)} is not a whole number {bounds}")
        return number

    parse.__name__ = "whole number"
    return parse


report_id = whole_number(1, MAX_ID)
port = whole_number(0, 65535)
