"""Marketing spend of one tenant (docs/sources.md ``crm.marketing_spend``): what it paid per channel per day.

Every acquisition channel of the users (``users.acquisition_channel``) but
``organic`` costs money: a row per paid channel and covered day, the day's
spend in the tenant's currency. A channel's daily spend follows the signups it
brought (an always-on part at the channel's average daily signups plus a part
that follows that day's signups) times the channel's cost per signup, with
±15% noise, so CAC and LTV/CAC land in plausible ranges. The row is booked at
23:00 UTC of its day (the ad platforms report the day's spend that evening).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from meridian.demo.ids import Ids
from meridian.demo.tenants import Tenant
from meridian.demo.timeline import DAY, HOUR, Window

# USD cents paid per signup; organic signups cost nothing and have no spend rows
COST_PER_SIGNUP_USD_CENTS: dict[str, int] = {
    "paid_search": 480,
    "paid_social": 360,
    "app_store": 270,
    "influencer": 560,
    "referral": 150,
    "email": 40,
}
ALWAYS_ON_SHARE = 0.6
NOISE = 0.15
BOOKED_AT_HOUR = 23


@dataclass
class MarketingRows:
    marketing_spend: list[dict[str, Any]] = field(default_factory=list)


class TenantMarketing:
    def __init__(self, tenant: Tenant, window: Window, rng: random.Random, ids: Ids) -> None:
        self.tenant = tenant
        self.window = window
        self.rng = rng
        self.ids = ids

    def run(self, signups: Iterable[tuple[int, str]]) -> MarketingRows:
        """Spend rows from the tenant's signups, given as (signup instant in ms, channel)."""
        window, rng = self.window, self.rng
        per_day: Counter[tuple[int, str]] = Counter()
        per_channel: Counter[str] = Counter()
        for signup_ms, channel in signups:
            per_day[(window.day_index(signup_ms), channel)] += 1
            per_channel[channel] += 1
        rows = MarketingRows()
        for day in range(window.days):
            spend_date = window.start_date + timedelta(days=day)
            for channel, usd_cents in COST_PER_SIGNUP_USD_CENTS.items():
                average = per_channel[channel] / window.days
                signups_paid = ALWAYS_ON_SHARE * average + (1 - ALWAYS_ON_SHARE) * per_day[(day, channel)]
                amount = round(signups_paid * usd_cents * self.tenant.price_factor
                               * rng.uniform(1 - NOISE, 1 + NOISE))
                rows.marketing_spend.append({
                    "id": self.ids.next("mks"), "tenant_id": self.tenant.id, "channel": channel,
                    "spend_date": spend_date.isoformat(), "amount_cents": amount, "currency": self.tenant.currency,
                    "updated_at": window.fmt(window.start_ms + day * DAY + BOOKED_AT_HOUR * HOUR),
                })
        return rows
