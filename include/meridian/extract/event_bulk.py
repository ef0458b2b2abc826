"""The fast path of an event file: the whole file in one statement, parsed and validated by PostgreSQL.

Python reads and decompresses the file and checks the buffer as a whole
(:func:`clean_text`): the same start checks as the per-line reader, then valid
UTF-8 and no NUL byte, both in C over the whole buffer. A clean buffer goes to
the warehouse as one text value; PostgreSQL splits it into lines
(``string_to_table ... with ordinality``: the line numbers count blank lines,
as the per-line reader's do), drops the blank ones, casts every line to jsonb
and derives ``occurred_at`` by the SQL rule of :mod:`meridian.warehouse.event_time`
(the one the loader's Python rule is tested against), within the range the
Python rule has (years 1 to 9999 in UTC). No Python code runs per line.

The fast path lands a file only when every non-blank line is a JSON object
PostgreSQL stores. Otherwise it reports the file as not clean and changes
nothing (the caller holds a savepoint): a line that is not JSON makes the cast
fail, a JSON line that is no object is counted. The caller then loads the file
through the per-line path (:mod:`meridian.extract.event_lines`), which lands
each bad line as text for the quarantine with its line number, and gives the
same rows for the good lines.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path

import psycopg2
import psycopg2.extensions

from meridian.extract.event_lines import FOREIGN_BOMS, GZIP_MAGIC, open_file
from meridian.warehouse.bootstrap import EVENT_FILES_TABLE
from meridian.warehouse.event_time import OCCURRED_AT_SQL

# the whitespace Python's bytes.strip() removes: a line of only these is blank (it lands as nothing)
_BLANK = r"E' \t\n\r\x0b\x0c'"

# occurred_at within the Python rule's range: an instant it cannot hold (year 0 or 10000 in UTC) is null there
_OCCURRED_AT = (
    f"(select case when instant >= '0001-01-01 00:00+00' and instant < '10000-01-01 00:00+00' then instant end "
    f"from (select ({OCCURRED_AT_SQL}) as instant) as rule)"
)

LOAD_SQL = f"""
with landed as (
    insert into raw.{EVENT_FILES_TABLE} (_file_name, _line_number, record, occurred_at)
    select %(file_name)s, number, record, {_OCCURRED_AT}
    from (
        select number, cast(rtrim(line, E'\\r') as jsonb) as record
        from string_to_table(%(text)s, E'\\n') with ordinality as lines (line, number)
        where btrim(line, {_BLANK}) <> ''
    ) as parsed
    returning jsonb_typeof(record) = 'object' as is_object
)
select count(*), count(*) filter (where not is_object) from landed
"""


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
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def load_text(cur: psycopg2.extensions.cursor, file_name: str, text: str) -> int | None:
    """Land every non-blank line of ``text`` as a JSON object; returns the lines landed.

    None when a line is not a JSON object PostgreSQL stores: then nothing of it
    stays (the statement runs inside a savepoint, rolled back).
    """
    cur.execute("savepoint event_file_bulk")
    try:
        cur.execute(LOAD_SQL, {"file_name": file_name, "text": text})
        landed, not_objects = cur.fetchone()
    except psycopg2.DataError:
        cur.execute("rollback to savepoint event_file_bulk")
        return None
    if not_objects:
        cur.execute("rollback to savepoint event_file_bulk")
        return None
    cur.execute("release savepoint event_file_bulk")
    return int(landed)
