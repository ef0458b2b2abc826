"""The fast path of an event file: the whole file in one statement, parsed and validated by PostgreSQL.

Python reads and decompresses the file and checks the buffer as a whole
(:func:`clean_text`): the same start checks as the per-line reader, then valid
UTF-8, no NUL byte and no line deep enough to pass Python's parser limits, all
in C over the whole buffer. A clean buffer goes to the warehouse as one text
value, and one ``insert ... select`` lands it (:data:`LOAD_SQL`): PostgreSQL
splits it into lines (``string_to_table ... with ordinality``: the line numbers
count blank lines, as the per-line reader's do), drops the blank ones, and
casts each line to jsonb when ``pg_input_is_valid`` says it can (json's check
first, jsonb's when a line passes json's but not jsonb's). No Python code runs
per line.

Each line lands as the per-line path (:mod:`meridian.extract.event_lines`)
lands it: a JSON object in ``record``; JSON that is no object in ``record``
and ``_line``; anything jsonb refuses (not JSON, NaN, a ``\\u0000`` or lone
surrogate escape, a number beyond numeric's range) in ``_line`` only, for the
quarantine (``invalid_json``, with file, line number and text).
``occurred_at`` comes from the SQL rule of :mod:`meridian.warehouse.event_time`
(the one the loader's Python rule is tested against), null outside the range
the Python rule has (years 1 to 9999 in UTC). A file that is not clean goes
line by line, where each bad line's bytes are shown escaped.
"""

from __future__ import annotations

import codecs
import gzip
import weakref
import zlib
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

import psycopg2
import psycopg2.extensions

from meridian.extract.event_lines import FOREIGN_BOMS, GZIP_MAGIC, open_file
from meridian.warehouse.bootstrap import EVENT_FILES_TABLE
from meridian.warehouse.event_time import OCCURRED_AT_SQL

# the whitespace Python's bytes.strip() removes: a line of only these is blank (it lands as nothing)
_BLANK = r"E' \t\n\r\x0b\x0c'"

# The common shapes of occurred_at (digits shown as 9), each with an explicit offset. A value of one of these
# shapes whose fields are in the rule's ranges matches the rule's pattern, and then the rule is a plain cast when
# PostgreSQL reads the value: this skips the rule's regular expression (the costliest part of a line's load).
# Any other value goes through the rule itself.
COMMON_SHAPES = tuple(
    f"9999-99-99T99:99:99{fraction}{offset}"
    for fraction in ("", ".999", ".999999") for offset in ("Z", "+99:99", "-99:99")
)
_VALUE = "occurred_text"  # record ->> 'occurred_at', taken once per line (LOAD_SQL)
_FIELD = "substr({value}, {start}, 2) collate \"C\""
_COMMON_SHAPE_SQL = " and ".join([
    f"translate({_VALUE}, '0123456789', '9999999999') in ({', '.join(repr(shape) for shape in COMMON_SHAPES)})",
    f"left({_VALUE}, 4) <> '0000'",
    f"{_FIELD.format(value=_VALUE, start=6)} between '01' and '12'",  # month
    f"{_FIELD.format(value=_VALUE, start=9)} between '01' and '31'",  # day
    f"{_FIELD.format(value=_VALUE, start=12)} < '24'",  # hour
    f"{_FIELD.format(value=_VALUE, start=15)} < '60'",  # minute
    f"{_FIELD.format(value=_VALUE, start=18)} < '60'",  # second
    f"(right({_VALUE}, 1) = 'Z' or ({_FIELD.format(value=_VALUE, start=f'length({_VALUE}) - 4')} < '16' "
    f"and right({_VALUE}, 2) collate \"C\" < '60'))",  # offset hours, minutes
    f"pg_input_is_valid({_VALUE}, 'timestamptz')",
])
OCCURRED_AT_FAST_SQL = f"""case
    when occurred_type = 'string' and {_COMMON_SHAPE_SQL}
        then cast({_VALUE} as timestamptz)
    else ({OCCURRED_AT_SQL})
end"""

# The most common shape of all, UTC with milliseconds ("2026-10-30T07:19:21.135+00:00"), checked by a round trip
# instead: the value PostgreSQL reads, printed back in that shape, is the text itself. Printing gives only digits
# in range (a 4-digit year, month 01-12, a day the month has, hour 00-23, minute and second 00-59), so a text
# that comes back unchanged has the rule's pattern, and the rule's result is that same cast. Any other text (a
# lower-case t, an hour 24, year 0000, February 30, another offset or fraction) takes OCCURRED_AT_FAST_SQL. This
# costs about half of the shape checks above. _UTC_CANDIDATE_SQL is the cast (once per line), taken only when
# it cannot fail; _UTC_MS is the printed shape.
UTC_MS_SHAPE = "9999-99-99T99:99:99.999+00:00"
_UTC_MS = 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'
_UTC_CANDIDATE_SQL = f"""case
    when occurred_type = 'string' and octet_length({_VALUE}) = {len(UTC_MS_SHAPE)} and right({_VALUE}, 6) = '+00:00'
         and pg_input_is_valid({_VALUE}, 'timestamptz')
        then cast({_VALUE} as timestamptz)
end"""
OCCURRED_AT_ROUND_TRIP_SQL = f"""case
    when utc_candidate is not null and to_char(utc_candidate at time zone 'UTC', '{_UTC_MS}') = {_VALUE}
        then utc_candidate
    else ({OCCURRED_AT_FAST_SQL})
end"""

# "offset 0" keeps each subquery whole, so the jsonb cast and the occurred_at rule run once per line
# (a flattened subquery would repeat them in every expression that uses them). A line that starts with "{" is not
# blank: only the others are trimmed to find out (a trim walks every character of the line). BODY drops a line's
# trailing carriage returns; for a file without any it is the line itself (event_file_sql).
_LOAD_SQL = f"""
with landed as (
    insert into raw.{EVENT_FILES_TABLE} (_file_name, _line_number, _line, record, occurred_at)
    select $1, number, case when record is null or jsonb_typeof(record) <> 'object' then body end, record,
           -- the Python rule's range: an instant it cannot hold (year 0 or 10000 in UTC) is null there
           case when instant >= '0001-01-01 00:00+00' and instant < '10000-01-01 00:00+00' then instant end
    from (
        select number, body, record, ({OCCURRED_AT_ROUND_TRIP_SQL}) as instant
        from (
            select number, body, record, occurred_text, occurred_type, ({_UTC_CANDIDATE_SQL}) as utc_candidate
            from (
                select number, body, record, record ->> 'occurred_at' as occurred_text,
                       jsonb_typeof(record -> 'occurred_at') as occurred_type
                from (
                    select number, body, case when pg_input_is_valid(body, 'VALID_AS') then cast(body as jsonb) end as record
                    from (
                        select number, BODY as body
                        from string_to_table($2, E'\\n') with ordinality as lines (line, number)
                        where starts_with(line, '{{') or btrim(line, {_BLANK}) <> ''
                        offset 0
                    ) as lines
                    offset 0
                ) as parsed
                offset 0
            ) as fields
            offset 0
        ) as candidates
        offset 0
    ) as ruled
    returning _line_number, _line is not null as kept_as_text
)
select count(*), count(*) filter (where kept_as_text),
       coalesce((array_agg(_line_number order by _line_number) filter (where kept_as_text))[1:$3], '{{}}')
from landed
"""


def event_file_sql(*, strict: bool, carriage_returns: bool) -> str:
    """The load statement (parameters: file name, text, how many bad line numbers to return).

    json's check is cheaper than jsonb's and passes every line jsonb takes. A line it passes that jsonb refuses
    (a \\u0000 escape, a number beyond numeric's range) fails the cast, and the file is loaded again with
    jsonb's check (``strict``). ``carriage_returns``: the text holds a carriage return somewhere.
    """
    body = "rtrim(line, E'\\r')" if carriage_returns else "line"
    return _LOAD_SQL.replace("VALID_AS", "jsonb" if strict else "json").replace("BODY", body)


_SAVEPOINT = "event_file_bulk"

# the statements each connection has prepared (a prepared statement outlives its transaction): a file's load
# is then planned once per connection instead of once per file
_PREPARED: weakref.WeakKeyDictionary[psycopg2.extensions.connection, set[str]] = weakref.WeakKeyDictionary()


def _execute_load(cur: psycopg2.extensions.cursor, *, strict: bool, carriage_returns: bool, params: tuple,
                  savepoint: str | None) -> None:
    name = f"meridian_event_file_{'jsonb' if strict else 'json'}{'_cr' if carriage_returns else ''}"
    prepared = _PREPARED.setdefault(cur.connection, set())
    if name not in prepared:
        sql = event_file_sql(strict=strict, carriage_returns=carriage_returns)
        cur.execute(f"prepare {name} (text, text, integer) as {sql}")
        prepared.add(name)
    # the savepoint (when one is to be set) and the load in one round trip
    cur.execute(f"{f'savepoint {savepoint}; ' if savepoint else ''}execute {name} (%s, %s, %s)", params)


# a line with this many opening brackets might nest deeper than Python's parser goes (its recursion limit):
# such a file takes the per-line path, so that no line lands as JSON that the per-line path would refuse
DEEP_BRACKETS = 500


def _may_nest_deep(text: str) -> bool:
    """Whether a line of ``text`` holds DEEP_BRACKETS opening brackets; only lines that long are counted."""
    lines = text.split("\n")
    lengths = list(map(len, lines))
    if max(lengths, default=0) < DEEP_BRACKETS:
        return False
    long_lines = compress(lines, map(DEEP_BRACKETS.__le__, lengths))
    return any(line.count("{") + line.count("[") >= DEEP_BRACKETS for line in long_lines)


@dataclass(frozen=True)
class BulkResult:
    landed: int  # non-blank lines landed
    kept_as_text: int  # lines that are not JSON objects PostgreSQL stores: _line set, quarantined as invalid_json
    first_kept_as_text: list[int]  # the first of their line numbers, for the log


def clean_text(path: Path) -> str | None:
    """The file's text when the fast path can take it whole; None when it must go line by line.

    None: the file does not decompress, starts like a file that is not UTF-8
    text, or holds bytes that are not UTF-8 or a NUL. The per-line reader then
    says what is wrong (or which lines are). OSError (the file's bytes cannot
    be read) propagates.
    """
    try:
        with open_file(path) as handle:
            data = handle.read()
    except (gzip.BadGzipFile, EOFError, zlib.error):
        return None
    if any(data.startswith(bom) for bom, _ in FOREIGN_BOMS):
        return None
    if data.startswith(GZIP_MAGIC) and not path.name.endswith(".gz"):
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _may_nest_deep(text) else text


def load_text(cur: psycopg2.extensions.cursor, file_name: str, text: str, named: int = 5) -> BulkResult:
    """Land every non-blank line of ``text`` (the clean content of ``file_name``) in raw, as the per-line path does.

    A JSON object PostgreSQL stores lands in ``record``; any other line keeps
    its text in ``_line`` (``record`` too when it is JSON but no object).
    ``named`` bounds the line numbers returned for the log.
    """
    params = (file_name, text, named)
    carriage_returns = "\r" in text
    try:
        _execute_load(cur, strict=False, carriage_returns=carriage_returns, params=params, savepoint=_SAVEPOINT)
    except psycopg2.DataError:
        cur.execute(f"rollback to savepoint {_SAVEPOINT}")
        _execute_load(cur, strict=True, carriage_returns=carriage_returns, params=params, savepoint=None)
    landed, kept_as_text, first = cur.fetchone()
    cur.execute(f"release savepoint {_SAVEPOINT}")
    return BulkResult(int(landed), int(kept_as_text), list(first))
