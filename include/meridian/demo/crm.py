"""CRM of one tenant: its sales team selling to businesses.

Leads arrive on working days during office hours (local time), are contacted
within hours, then qualified or disqualified over days. A qualified lead gets
a proposal (draft, then sent); it is decided within a month: accepted (win
probability 1), rejected or expired (0), and a lost deal sometimes gets a
second proposal. An accepted proposal converts the lead and creates a
customer. Every timestamp is consistent with the status: a step whose time
is after the end of the window has not happened yet, so recent leads are
``new`` or ``contacted`` and recent proposals ``draft`` or ``sent``.

Customers from before the window (no lead) start the book; customers go
through onboarding (first 30 days), then are ``active`` or ``at_risk`` by
health score, and some churn (``churned_at``, low health). The source keeps
each customer's current row only, last updated when its health was last
recalculated (within ``HEALTH_RECALCULATED_DAYS`` of the end), so the
warehouse knows a customer's state from that day on.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from meridian.demo.ids import Ids
from meridian.demo.sampling import Weighted
from meridian.demo.tenants import (
    COMPANY_NOUNS,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    FIRST_NAMES,
    LAST_NAMES,
    Tenant,
)
from meridian.demo.timeline import DAY, HOUR, Window

LEADS_PER_USER_DAY = 1 / (20 * 180)  # 1,000 leads at 20,000 users and 180 days
LEAD_SOURCES = (("inbound", 30), ("website", 25), ("outbound", 20), ("referral", 12), ("event", 8),
                ("partner", 5))
SEGMENTS = (("smb", 60), ("mid_market", 30), ("enterprise", 10))
DEAL_SIZE_USD = {"smb": (2_000, 10_000), "mid_market": (10_000, 60_000), "enterprise": (60_000, 300_000)}
MONTHLY_CHURN = {"smb": 0.04, "mid_market": 0.02, "enterprise": 0.01}
ONBOARDING_DAYS = 30
# a customer's health score (and row) was last recalculated within this many days of the window's end
HEALTH_RECALCULATED_DAYS = 120


@dataclass
class CrmRows:
    sales_reps: list[dict[str, Any]] = field(default_factory=list)
    leads: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)


class TenantCrm:
    def __init__(self, tenant: Tenant, users: int, window: Window, rng: random.Random, ids: Ids) -> None:
        self.tenant = tenant
        self.users = users
        self.window = window
        self.rng = rng
        self.ids = ids
        self.rows = CrmRows()
        self.segments = Weighted(SEGMENTS)
        self.sources = Weighted(LEAD_SOURCES)

    def run(self) -> CrmRows:
        reps = self._reps()
        count = max(8, round(self.users * self.window.days * LEADS_PER_USER_DAY))
        for created in sorted(self._lead_time() for _ in range(count)):
            self._lead(created, self.rng.choice(reps))
        for _ in range(max(3, count // 4)):
            self._customer(None, self.window.start_ms - int(self.rng.uniform(30, 1000) * DAY),
                           self.segments.draw(self.rng))
        return self.rows

    def _reps(self) -> list[str]:
        rng = self.rng
        reps = []
        for _ in range(min(8, 3 + self.users // 4000)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            rep_id = self.ids.next("rep")
            self.rows.sales_reps.append({
                "id": rep_id, "tenant_id": self.tenant.id, "name": f"{first} {last}",
                "email": f"{first}.{last}@{self.tenant.email_domain}".lower(),
                "updated_at": self.window.fmt(self.window.start_ms - int(rng.uniform(5, 400) * DAY)),
            })
            reps.append(rep_id)
        return reps

    def _lead_time(self) -> int:
        """A working-day office-hours instant in the window (local 8:00-18:00)."""
        rng, window = self.rng, self.window
        while True:
            day = int(rng.random() * window.days)
            weekend = (window.start_date.weekday() + day) % 7 >= 5
            if not weekend or rng.random() < 0.15:
                break
        local_hour = rng.uniform(8, 18)
        return window.start_ms + day * DAY + int((local_hour - self.tenant.utc_offset_hours) * HOUR) % DAY

    def _lead(self, created: int, owner: str) -> None:
        rng, now, fmt = self.rng, self.window.now_ms, self.window.fmt
        quality = rng.random()
        segment = self.segments.draw(rng)
        score = max(0, min(100, int(quality * 70 + rng.gauss(15, 10))))
        lead_id = self.ids.next("lead")
        happened = [created]

        def at(when: int | None) -> int | None:
            if when is None or when >= now:
                return None
            happened.append(when)
            return when

        first_contact = qualified = converted = None
        status = "new"
        if rng.random() < 0.9:
            first_contact = at(created + int(rng.lognormvariate(math.log(5 * HOUR), 1.0)))
        if first_contact is not None:
            status = "contacted"
            draw = rng.random()
            if draw < 0.15 + 0.5 * quality:
                qualified = at(first_contact + int(rng.uniform(1, 10) * DAY))
                if qualified is not None:
                    status = "qualified"
            elif draw < 0.75:
                if at(first_contact + int(rng.uniform(1, 7) * DAY)) is not None:
                    status = "unqualified"
        if qualified is not None:
            accepted = self._proposals(lead_id, owner, segment, quality, qualified)
            converted = at(accepted)
            if converted is not None:
                status = "converted"
                self._customer(lead_id, converted + int(rng.uniform(1, 72) * HOUR), segment)
        self.rows.leads.append({
            "id": lead_id, "tenant_id": self.tenant.id, "owner_id": owner, "source": self.sources.draw(rng),
            "status": status, "score": score, "created_at": fmt(created),
            "first_contact_at": self.window.fmt_opt(first_contact), "qualified_at": self.window.fmt_opt(qualified),
            "converted_at": self.window.fmt_opt(converted), "updated_at": fmt(max(happened)),
        })

    def _proposals(self, lead_id: str, owner: str, segment: str, quality: float, qualified: int) -> int | None:
        """The lead's proposals; returns when one was accepted (before the end of the window), else None."""
        rng, now, window = self.rng, self.window.now_ms, self.window
        low, high = DEAL_SIZE_USD[segment]
        created = qualified + int(rng.uniform(1, 5) * DAY)
        for round_number in range(2):
            if created >= now:
                return None
            amount = int(rng.uniform(low, high) * self.tenant.price_factor) * 100
            sent = created + int(rng.uniform(0.1, 3) * DAY) if rng.random() < 0.95 else None
            draw = rng.random()
            if draw < 0.12 + 0.35 * quality:
                outcome, decided = "accepted", (sent or 0) + int(rng.uniform(3, 30) * DAY)
            elif draw < 0.8:
                outcome, decided = "rejected", (sent or 0) + int(rng.uniform(2, 25) * DAY)
            else:
                outcome, decided = "expired", (sent or 0) + 30 * DAY
            if sent is None or sent >= now:
                status, probability, sent, decided = "draft", 0.1 + 0.25 * quality, None, None
            elif decided >= now:
                status, probability, decided = "sent", 0.2 + 0.6 * quality, None
            else:
                status, probability = outcome, 1.0 if outcome == "accepted" else 0.0
            updated = decided or sent or created
            self.rows.proposals.append({
                "id": self.ids.next("prop"), "tenant_id": self.tenant.id, "lead_id": lead_id, "owner_id": owner,
                "amount_cents": amount, "win_probability": f"{probability:.2f}", "status": status,
                "created_at": window.fmt(created), "sent_at": window.fmt_opt(sent),
                "decided_at": window.fmt_opt(decided), "updated_at": window.fmt(updated),
            })
            if status == "accepted":
                return decided
            if status in ("draft", "sent") or round_number == 1 or rng.random() >= 0.3:
                return None
            created = (decided or created) + int(rng.uniform(2, 14) * DAY)
        return None

    def _customer(self, lead_id: str | None, created: int, segment: str) -> None:
        rng, now, window = self.rng, self.window.now_ms, self.window
        if created >= now:
            return
        words = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NOUNS)} {rng.choice(COMPANY_SUFFIXES)}"
        months_to_churn = rng.expovariate(MONTHLY_CHURN[segment])
        churned = created + ONBOARDING_DAYS * DAY + int(months_to_churn * 30 * DAY)
        if churned < now and churned >= window.start_ms - 30 * DAY:
            status, health, churned_at, updated = "churned", rng.randint(5, 35), churned, churned
        elif churned < now:
            return  # churned long before the window: no longer in the book
        else:
            churned_at = None
            updated = max(created, now - int(rng.uniform(0, HEALTH_RECALCULATED_DAYS) * DAY))
            if now - created < ONBOARDING_DAYS * DAY:
                status, health = "onboarding", rng.randint(50, 90)
            else:
                health = max(0, min(100, int(rng.gauss(72, 15))))
                status = "at_risk" if health < 50 else "active"
        self.rows.customers.append({
            "id": self.ids.next("cus"), "tenant_id": self.tenant.id, "lead_id": lead_id, "name": words,
            "segment": segment, "status": status, "health_score": health, "created_at": window.fmt(created),
            "churned_at": window.fmt_opt(churned_at), "updated_at": window.fmt(updated),
        })
