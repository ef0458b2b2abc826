"""The occurred_at of an event-file line, as the loader stores it for partitioning.

``raw.app__event_files`` is partitioned by month of ``occurred_at`` (see
meridian.warehouse.partitions), taken from the record's ``occurred_at`` field
at load time. The rule is the dbt macro ``safe_cast_timestamptz``'s: an
ISO-8601 string ``YYYY-MM-DD[(T| )hh:mm[:ss[.fraction]]][Z|±hh[[:]mm]]``, UTC
when it has no offset, an impossible day (2026-02-30) rejected. Anything else
(absent, not a string, not ISO-8601, out of range) is null, and the line lands
in the default partition, which the purge never drops.

:data:`OCCURRED_AT_SQL` is the same rule in SQL over a ``record`` jsonb column,
for lines landed before the column existed (the one-time migration).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_ISO = re.compile(
    r"(?!0000)(?P<date>[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))"
    r"(?:[Tt ](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])(?::(?P<second>[0-5][0-9])(?:\.(?P<fraction>[0-9]+))?)?"
    r"\s*(?P<offset>[Zz]|[+-](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?)?"
)
_PATTERN_SQL = (
    r"^(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::[0-5][0-9](?:\.[0-9]+)?)?\s*(?:[Zz]|[+-](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?)?$"
)

# the text of record->>'occurred_at' cast as the dbt macro safe_cast_timestamptz does (null when it does not parse)
OCCURRED_AT_SQL = f"""case
    when jsonb_typeof(record -> 'occurred_at') = 'string' and (record ->> 'occurred_at') ~ '{_PATTERN_SQL}'
        then case
            when cast(substr(record ->> 'occurred_at', 9, 2) as integer) <= extract(day from (
                make_date(cast(substr(record ->> 'occurred_at', 1, 4) as integer),
                          cast(substr(record ->> 'occurred_at', 6, 2) as integer), 1)
                + interval '1 month' - interval '1 day'))
                then case
                    when substr(record ->> 'occurred_at', 11) ~ '[Zz+-]' then cast(record ->> 'occurred_at' as timestamptz)
                    else cast(record ->> 'occurred_at' as timestamp) at time zone 'UTC'
                end
        end
end"""


def parse_occurred_at(value: object) -> datetime | None:
    """An event's occurred_at field as an aware UTC datetime, or None when it is not an ISO-8601 string."""
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value)
    if match is None:
        return None
    day, hour, fraction, offset = match["date"], match["hour"], match["fraction"], match["offset"]
    if (fraction is None or len(fraction) <= 6) and " " not in value[11:] and "\t" not in value[11:]:
        # the common shapes: the C parser agrees with the rule once the pattern matched (it truncates
        # fractions past 6 digits where PostgreSQL rounds, and refuses a lowercase z: those take the long way)
        try:
            parsed = datetime.fromisoformat(value)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:
            return None  # beyond the datetime range in UTC
        except ValueError:
            pass
    try:
        instant = datetime(
            int(day[:4]), int(day[5:7]), int(day[8:10]),
            int(hour) if hour else 0, int(match["minute"]) if hour else 0, int(match["second"] or 0),
            int(fraction.ljust(6, "0")) if fraction and len(fraction) <= 6 else 0,
            tzinfo=UTC,
        )
        if fraction and len(fraction) > 6:
            # PostgreSQL rounds to the microsecond
            instant += timedelta(microseconds=round(float("0." + fraction) * 1_000_000))
        if offset and offset not in ("Z", "z"):
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            instant = instant.replace(tzinfo=timezone(sign * delta)).astimezone(UTC)
        return instant
    except (ValueError, OverflowError):
        return None  # an impossible day (2026-02-30) or beyond the datetime range


def record_occurred_at(record: object) -> str | None:
    """The occurred_at of a parsed event-file record as ISO text for COPY, or None."""
    if not isinstance(record, dict):
        return None
    instant = parse_occurred_at(record.get("occurred_at"))
    return None if instant is None else instant.isoformat()
