"""``python -m meridian.demo``: generate the demo data and print the summary."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from meridian.demo.generate import DEFAULT_END_DATE, generate


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m meridian.demo",
        description="Generate demo data into the source databases (source_app, source_billing, source_crm, "
                    "source_games) and event files into the landing directory, replacing what was there.",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--users", type=int, default=20_000, help="users in total, split unevenly over tenants")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--end-date", type=_date, default=DEFAULT_END_DATE,
                        help=f"last generated day (default {DEFAULT_END_DATE})")
    parser.add_argument("--landing-dir", type=Path, default=None,
                        help="where event files go (default: MERIDIAN_LANDING_DIR or data/landing)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = generate(seed=args.seed, tenants=args.tenants, users=args.users, days=args.days,
                           end_date=args.end_date, landing_dir=args.landing_dir, progress=not args.no_progress)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        print(f"python -m meridian.demo: {exc}", file=sys.stderr)
        return 1
    print(summary.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
