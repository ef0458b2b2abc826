"""Reading one event file into lines the warehouse can store, or the reason it cannot be read.

A file is read whole before anything of it is loaded. It is **unreadable**
(:class:`UnreadableFile`) when it cannot be decompressed (a corrupt or
truncated gzip, a ``.gz`` that is no gzip), or cannot be decoded at all: a
UTF-16/UTF-32 byte-order mark, gzip data in a file not named ``.gz``, or not
one non-blank line that is valid UTF-8.

Otherwise every non-blank line becomes a :class:`ParsedLine`. A line that is
not a JSON object PostgreSQL can store as jsonb keeps its text (``line``) for
the quarantine, with ``record`` null when it is not JSON at all: invalid UTF-8
(the bad bytes shown as ``\\xNN``), a NUL character (shown as ``\\x00``), a
``\\u0000`` or lone surrogate escape (``\\ud800``, which jsonb rejects), NaN or
Infinity, or any other syntax error. A UTF-8 byte-order mark at the start of
the file is not part of the first line.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meridian.warehouse.event_time import record_occurred_at

PATTERNS = ("*.jsonl", "*.jsonl.gz")

GZIP_MAGIC = b"\x1f\x8b"
# longest first: a UTF-32 LE mark starts with the UTF-16 LE one
FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# characters a parsed JSON string may hold that PostgreSQL jsonb refuses
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnreadableFile(Exception):
    """The file cannot be decompressed or decoded; the message says why (it does not repeat the file name)."""


@dataclass(frozen=True, slots=True)
class ParsedLine:
    number: int  # counts from 1, blank lines included
    record: str | None  # JSON text PostgreSQL stores as jsonb; None when the line is not storable JSON
    line: str | None  # the line's text, kept when it is not a JSON object
    problem: str | None = None  # why the line is not a JSON object, for the log
    occurred_at: str | None = None  # the record's occurred_at (ISO), the month partition it lands in

    @property
    def is_object(self) -> bool:
        return self.record is not None and self.line is None

    def refused(self, reason: str) -> ParsedLine:
        """This line kept as text only (PostgreSQL refused its JSON for ``reason``)."""
        text = self.line if self.line is not None else self.record
        return ParsedLine(self.number, None, text, reason)


def _reject_constant(value: str) -> None:
    raise ValueError(f"{value} is not valid JSON")


def printable(raw: bytes) -> str:
    """``raw`` as text PostgreSQL can hold: bytes that are not UTF-8 and NUL shown as ``\\xNN``."""
    return raw.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def _unstorable(value: Any) -> str | None:
    """Why jsonb would refuse the parsed ``value`` (a NUL or lone surrogate in a key or string), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            match = _UNSTORABLE.search(item)
            if match:
                char = ord(match.group())
                return "a \\u0000 escape (NUL)" if char == 0 else f"a lone surrogate escape \\u{char:04x}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def parse_line(raw: bytes, number: int = 1) -> ParsedLine:
    """One raw line (its line ending included or not) as the warehouse lands it."""
    body = raw.rstrip(b"\r\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParsedLine(number, None, printable(body),
                          f"not valid UTF-8 (byte 0x{body[exc.start]:02x} at byte {exc.start + 1})")
    if "\x00" in text:
        return ParsedLine(number, None, text.replace("\x00", "\\x00"), "a NUL character")
    try:
        # numbers stay text: PostgreSQL's numeric reads them, not Python's float or int
        value = json.loads(text, parse_constant=_reject_constant, parse_float=str, parse_int=str)
    except (ValueError, RecursionError) as exc:
        return ParsedLine(number, None, text, f"not JSON: {exc}")
    if "\\u" in text:  # only an escape can put a NUL or a lone surrogate into a parsed string
        problem = _unstorable(value)
        if problem:
            return ParsedLine(number, None, text, problem)
    if isinstance(value, dict):
        return ParsedLine(number, text, None, occurred_at=record_occurred_at(value))
    kind = "an array" if isinstance(value, list) else "null" if value is None else f"a {type(value).__name__}"
    return ParsedLine(number, text, text, f"JSON {kind}, not an object")


def open_file(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _check_start(path: Path, first: bytes) -> bytes:
    """The first raw line without a UTF-8 byte-order mark; raises UnreadableFile for text that is not UTF-8."""
    for bom, encoding in FOREIGN_BOMS:
        if first.startswith(bom):
            raise UnreadableFile(f"{encoding} text (byte-order mark {bom.hex(' ')}); event files must be UTF-8")
    if first.startswith(GZIP_MAGIC) and not path.name.endswith(".gz"):
        raise UnreadableFile("gzip data in a file not named .gz (name it *.jsonl.gz)")
    return first.removeprefix(codecs.BOM_UTF8)


def read_lines(path: Path) -> list[ParsedLine]:
    """Every non-blank line of ``path``, parsed; raises UnreadableFile when the file cannot be read as text.

    OSError (the file's bytes cannot be read at all) propagates.
    """
    with open_file(path) as handle:
        return parse_lines(path, handle)


def parse_lines(path: Path, raw_lines: Iterable[bytes]) -> list[ParsedLine]:
    """Every non-blank line of ``raw_lines`` (the content of ``path``, line endings included), parsed.

    Raises UnreadableFile when the content cannot be decompressed or read as text.
    """
    lines: list[ParsedLine] = []
    undecodable: list[ParsedLine] = []
    number = 0
    try:
        for number, raw in enumerate(raw_lines, start=1):
            if number == 1:
                raw = _check_start(path, raw)
            if not raw.strip():
                continue  # blank lines carry nothing (a trailing newline, say)
            parsed = parse_line(raw, number)
            lines.append(parsed)
            if parsed.problem and parsed.problem.startswith("not valid UTF-8"):
                undecodable.append(parsed)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        read = f" after {number} line(s)" if number else ""
        raise UnreadableFile(f"cannot be decompressed{read}: {exc}") from exc
    if lines and len(undecodable) == len(lines):
        first = undecodable[0]
        raise UnreadableFile(
            f"not UTF-8 text: none of its {len(lines)} line(s) decodes as UTF-8 "
            f"(line {first.number}: {first.problem})"
        )
    return lines


def pending_files(landing_dir: Path) -> list[Path]:
    files: set[Path] = set()
    for pattern in PATTERNS:
        files.update(path for path in landing_dir.glob(pattern) if path.is_file())
    return sorted(files)
