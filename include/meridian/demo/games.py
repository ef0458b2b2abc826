"""Tournaments of one tenant and who entered them.

A few tournaments a day (more for bigger tenants), announced hours to days
before they start on a local evening; the format sets the field size and the duration. Players
are users who had signed up before the tournament was announced and register
between the announcement and the start. Status follows the clock: scheduled
(not started by the end of the window), running, completed (``ended_at``,
every entry placed 1..n), or canceled (about 5 %, never started).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from meridian.demo.app import User
from meridian.demo.ids import Ids
from meridian.demo.sampling import Weighted
from meridian.demo.tenants import Tenant
from meridian.demo.timeline import DAY, HOUR, MINUTE, Window

TOURNAMENTS_PER_USER_DAY = 1 / 3000
FORMATS = (("single_elimination", 30), ("double_elimination", 10), ("round_robin", 15), ("swiss", 15),
           ("battle_royale", 30))
FIELD_SIZES = {
    "single_elimination": (8, 16, 16, 32, 64),
    "double_elimination": (8, 16, 32),
    "round_robin": (4, 6, 8, 10),
    "swiss": (16, 24, 32, 48, 64),
    "battle_royale": (20, 40, 60, 100),
}
DURATION_MINUTES = {
    "single_elimination": (45, 180), "double_elimination": (90, 300), "round_robin": (60, 240),
    "swiss": (90, 360), "battle_royale": (20, 60),
}
ENTRY_FEES_USD_CENTS = ((0, 35), (100, 20), (250, 15), (500, 15), (1000, 10), (2500, 5))
NAME_WORDS = ("Friday Night", "Weekend", "Midnight", "Sunrise", "Rookie", "Champions", "Autumn", "Blitz", "Pro",
              "Community")
NAME_KINDS = ("Cup", "Open", "Showdown", "Clash", "Series", "Invitational", "League Night")
CANCEL_SHARE = 0.05


@dataclass
class GamesRows:
    tournaments: list[dict[str, Any]] = field(default_factory=list)
    tournament_entries: list[dict[str, Any]] = field(default_factory=list)


class TenantGames:
    def __init__(self, tenant: Tenant, users: list[User], window: Window, rng: random.Random, ids: Ids) -> None:
        self.tenant = tenant
        self.players = [user for user in users if user.registered]
        self.signups = [user.signup_ms for user in self.players]  # sorted: users come sorted by signup
        self.window = window
        self.rng = rng
        self.ids = ids
        self.rows = GamesRows()
        self.formats = Weighted(FORMATS)
        self.fees = Weighted([(tenant.price(usd) + 1 if usd else 0, weight) for usd, weight in
                              ENTRY_FEES_USD_CENTS])

    def run(self) -> GamesRows:
        rng, window = self.rng, self.window
        per_day = min(30.0, max(0.3, len(self.players) * TOURNAMENTS_PER_USER_DAY * 1.25))
        for day in range(window.days):
            for _ in range(_poisson(rng, per_day)):
                created = window.start_ms + day * DAY + int(rng.random() * DAY)
                self._tournament(created)
        return self.rows

    def _tournament(self, created: int) -> None:
        rng, window, now = self.rng, self.window, self.window.now_ms
        fmt_ = self.formats.draw(rng)
        tournament_id = self.ids.next("trn")
        number = int(tournament_id[4:])
        name = f"{rng.choice(NAME_WORDS)} {rng.choice(NAME_KINDS)} #{number}"
        # play starts on a local evening, the same day or up to three days after the announcement
        local_evening = int((rng.uniform(17, 23.5) - self.tenant.utc_offset_hours) * HOUR)
        planned_start = created - created % DAY + rng.choice((0, 1, 1, 2, 3)) * DAY + local_evening
        while planned_start < created + HOUR:
            planned_start += DAY
        low, high = DURATION_MINUTES[fmt_]
        planned_end = planned_start + int(rng.uniform(low, high) * MINUTE)
        started = ended = None
        if rng.random() < CANCEL_SHARE:
            canceled_at = created + int(rng.random() * (planned_start - created))
            if canceled_at < now:
                status, updated = "canceled", canceled_at
            else:
                status, updated = "scheduled", created
        elif planned_start >= now:
            status, updated = "scheduled", created
        elif planned_end >= now:
            status, started, updated = "running", planned_start, planned_start
        else:
            status, started, ended, updated = "completed", planned_start, planned_end, planned_end
        self.rows.tournaments.append({
            "id": tournament_id, "tenant_id": self.tenant.id, "name": name, "format": fmt_, "status": status,
            "entry_fee_cents": self.fees.draw(rng), "created_at": window.fmt(created),
            "started_at": window.fmt_opt(started), "ended_at": window.fmt_opt(ended),
            "updated_at": window.fmt(updated),
        })
        registration_end = min(planned_start, now, updated if status == "canceled" else now)
        eligible = bisect_left(self.signups, created)
        size = min(rng.choice(FIELD_SIZES[fmt_]), eligible)
        if status == "scheduled":  # registration still open
            size = int(size * min(1.0, (now - created) / max(1, planned_start - created)))
        if size <= 0:
            return
        chosen = rng.sample(range(eligible), size)
        placements: list[int | None] = list(range(1, size + 1)) if status == "completed" else [None] * size
        rng.shuffle(placements)
        for player_index, placement in zip(chosen, placements, strict=True):
            registered = created + int(rng.random() * (registration_end - created))
            self.rows.tournament_entries.append({
                "id": self.ids.next("ent"), "tenant_id": self.tenant.id, "tournament_id": tournament_id,
                "user_id": self.players[player_index].id, "registered_at": window.fmt(registered),
                "placement": placement, "updated_at": window.fmt(ended if ended is not None else registered),
            })


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
