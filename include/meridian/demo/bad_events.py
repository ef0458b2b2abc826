"""Bad app events (step 6 of meridian.demo.app): extra copies of good events, broken the ways
docs/sources.md's event rules catch, one kind of ``EVENT_BAD_KINDS`` each.

The copy keeps everything of the good event but what its kind breaks; the app gives it its own id, counts it
by kind and routes it to app.events or a landing file (``invalid_json_line`` and, as a file line can lack a
column a table row cannot, some ``missing_required`` only to a file). The rows of the other sources get
theirs in meridian.demo.dirty.
"""

from __future__ import annotations

import json
import random
from typing import Any

from meridian.demo.dirty import EPOCH_ZERO, UNKNOWN_TENANTS, Y2K_EVE
from meridian.demo.timeline import DAY, iso
from meridian.sources.schema import EVENT_FILE_FIELDS

EVENT_BAD_KINDS = ("unknown_tenant", "missing_required", "future_timestamp", "implausible_timestamp",
                   "invalid_json", "invalid_json_line", "multiple")


def bad_copy(rng: random.Random, fields: dict[str, Any], received: int) -> tuple[str, dict[str, Any] | str, bool]:
    """Break ``fields`` (a copy of a good event's, with its own id; changed in place) by one kind drawn from
    EVENT_BAD_KINDS: the kind, the broken fields (or, for ``invalid_json_line``, the landing-file line that is
    not JSON) and whether the copy goes to a file."""
    kind = EVENT_BAD_KINDS[int(rng.random() * len(EVENT_BAD_KINDS))]
    in_file = rng.random() < 0.4
    if kind == "unknown_tenant":
        fields["tenant_id"] = None if rng.random() < 0.4 else rng.choice(UNKNOWN_TENANTS)
    elif kind == "missing_required":
        column = rng.choice(("event_type", "event_type", "occurred_at", "received_at", "id"))
        if column in ("id", "received_at"):
            # app.events.id is a primary key, and a table row without received_at is never extracted
            # (it is read by received_at): only a file line can lack these
            in_file = True
        if in_file and rng.random() < 0.5:
            del fields[column]
        else:
            fields[column] = "" if column == "event_type" and rng.random() < 0.3 else None
    elif kind == "future_timestamp":  # a device clock running ahead
        fields["occurred_at"] = iso(received + int(rng.uniform(1.2, 40) * DAY))
    elif kind == "implausible_timestamp":
        fields["occurred_at"] = rng.choice((EPOCH_ZERO, Y2K_EVE, "1970-01-01T00:00:12.345+00:00"))
    elif kind == "invalid_json":  # properties that are not an object
        props = fields["properties"]
        fields["properties"] = rng.choice((json.dumps(props), [props], "screen=home", 0))
    elif kind == "invalid_json_line":
        return kind, broken_line(rng, fields) + "\n", True
    else:  # several rules at once
        if rng.random() < 0.5:
            fields.update(tenant_id=None, occurred_at=EPOCH_ZERO, properties=json.dumps(fields["properties"]))
        else:
            fields.update(tenant_id=rng.choice(UNKNOWN_TENANTS), event_type=None,
                          occurred_at=iso(received + 3 * DAY))
    return kind, fields, in_file


def broken_line(rng: random.Random, fields: dict[str, Any]) -> str:
    """A landing-file line that is not a JSON object."""
    text = json.dumps(fields)
    choice = rng.random()
    if choice < 0.35:
        return text[: int(rng.uniform(0.2, 0.9) * len(text))]  # truncated upload
    if choice < 0.55:
        return json.dumps([fields.get(name) for name in EVENT_FILE_FIELDS])  # an array, not an object
    if choice < 0.7:
        return text + text  # two objects glued together
    if choice < 0.85:
        return rng.choice(("<html><body><h1>502 Bad Gateway</h1></body></html>", "ERROR upstream timeout",
                           "null", "42", '"event"'))
    return text.replace('"id": ', "id: ", 1)  # unquoted key
