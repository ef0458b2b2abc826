"""Every option and argument of every `meridian` command has help text (`meridian X --help` explains it)."""

from __future__ import annotations

import argparse

from meridian.cli import build_parser


def _undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                missing += _undocumented(child, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction) and not (action.help or "").strip():
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_has_help():
    assert _undocumented(build_parser(), "meridian") == []


def test_demo_help_names_its_options(capsys):
    try:
        build_parser().parse_args(["demo", "--help"])
    except SystemExit:
        pass
    text = capsys.readouterr().out
    for option in ("--users", "--days", "--tenants", "--seed", "--as-of", "--skip-generate", "--scheduler"):
        assert option in text
    assert "raw rows" in " ".join(text.split())
