"""Users and app events of one tenant.

The model, in the order it is generated:

1. Signups grow about 0.5 % a day with a weekend bump, at local-evening peak
   hours (each tenant's users live in its time zone), split over ios, android
   and web, the tenant's countries and acquisition channels.
2. Each user gets an onboarding depth: how far along app_open ->
   registration_start -> registration_complete -> match_created ->
   message_sent -> subscription_view -> subscription_purchase it gets
   (``FUNNEL_CONTINUE`` drops some at every step), and an engagement: users who
   never register bounce; a core (more of them among payers) stays active on a
   good share of days; the rest fade out over days to weeks.
3. Active days become sessions (one to a few a day, at least 30 minutes apart);
   a session is app_open, a stage-dependent mix of events (swipes, profile
   views, messages once matched, ...), often app_close; events inside a session
   are seconds to minutes apart (never 30 minutes). The milestones of the
   funnel land in the user's sessions in order; if a user runs out of sessions
   first, that is where they drop off. The mean events per session is
   calibrated so the total is ``events_target`` (2 million at 20,000 users and
   180 days, proportional to users x days).
4. received_at is occurred_at plus about a second (some minutes or hours for
   offline devices; ``LATE_SHARE`` arrive 2-5 days late). An event not received
   by the end of the window does not exist yet.
5. Routing: events received on the last ``FILE_ONLY_LAST_DAYS`` days and
   ``FILE_SHARE`` of the others go only to the event files, the rest to
   app.events; some are duplicated (file and table, or twice in files) with
   identical content.
6. Bad events (``dirty`` kinds for events) are extra copies of good events,
   broken by meridian.demo.bad_events.

A new event type, ``story_view``, appears in the last ``STORY_LAUNCH_DAYS``
days (a feature launch) so the pipeline's ``new_event_type`` alert has
something to find.

Over 400 lines on purpose: the model's constants (shares, weights, funnel
steps, event mixes) and the one generator that draws from them read
together, step by step as above, and steps 1 to 5 share the generator's
state (its random stream, ids, time tables and the event buffers), so
cutting them apart would pass that state around instead; the bad copies of
step 6 need none of it and live in meridian.demo.bad_events. It is demo
tooling, not product code.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from meridian.demo.bad_events import bad_copy
from meridian.demo.copy_loader import CHUNK_LINES, SourceLoader, copy_line
from meridian.demo.ids import Ids
from meridian.demo.landing import Buckets
from meridian.demo.sampling import Weighted
from meridian.demo.tenants import FIRST_NAMES, LAST_NAMES, Plan, Tenant
from meridian.demo.timeline import DAY, HOUR, MINUTE, SECOND, Window
from meridian.sources.schema import EVENT_FILE_FIELDS, table

EVENTS = table("app", "events")

EVENTS_PER_USER_DAY = 2_000_000 / (20_000 * 180)
SIGNUP_GROWTH_PER_DAY = 0.005
FILE_SHARE = 0.10
FILE_ONLY_LAST_DAYS = 2
LATE_SHARE = 0.004
DUPLICATE_DB_AND_FILE = 0.003
DUPLICATE_IN_FILES = 0.002
BAD_EVENT_SHARE = 0.007  # split evenly over bad_events.EVENT_BAD_KINDS (0.1 % each)
STORY_LAUNCH_DAYS = 10
STORY_SHARE_OF_SCREEN_VIEWS = 0.05
ANONYMOUS_WEB_SHARE = 0.03  # of web sessions, preceded by a logged-out page view
ONE_OFF_PER_SESSION = 0.02  # a paid boost, super likes, ...
DELETED_SHARE = 0.015

# local hour of day -> relative activity (evening peak)
HOUR_WEIGHTS = (0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.5, 0.9, 1.2, 1.3, 1.35, 1.45, 1.7, 1.6, 1.45, 1.45, 1.6, 1.9,
                2.3, 2.7, 2.9, 2.7, 2.0, 1.2)
PLATFORMS = (("ios", 45), ("android", 40), ("web", 15))
CHANNELS = (("organic", 34), ("paid_social", 20), ("paid_search", 15), ("referral", 12), ("app_store", 10),
            ("influencer", 6), ("email", 3))
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
REGISTRATION_METHODS = ("email", "apple", "google", "phone")
# P(reach step k+1 | reached step k) for the onboarding funnel after app_open
FUNNEL_CONTINUE = (0.93, 0.86, 0.72, 0.80, 0.55, 0.30)
REGISTERED, MATCHED, MESSAGED, VIEWED, PURCHASED = 2, 3, 4, 5, 6
CORE_SHARE_BY_DEPTH = (0.0, 0.0, 0.08, 0.15, 0.15, 0.3, 0.7)

ONE_OFF_SKUS = (("boost_1", 499, 30), ("super_likes_5", 399, 30), ("super_likes_25", 1499, 10),
                ("spotlight_24h", 799, 15), ("rose_gift", 199, 15))


def events_target(users: int, days: int) -> int:
    return round(EVENTS_PER_USER_DAY * users * days)


def _props(**values: Any) -> str:
    return json.dumps(values)


SCREENS = ("discover", "profile", "matches", "chat", "settings", "notifications", "edit_profile", "likes_you")
PROPERTY_VARIANTS: dict[str, list[str]] = {
    "app_open": [_props(source=s, cold_start=c) for s in ("icon", "icon", "icon", "push", "deeplink", "widget")
                 for c in (True, False)],
    "screen_view": [_props(screen=s) for s in SCREENS],
    "profile_view": [_props(source=s, photos_viewed=n) for s in ("discover", "likes", "search", "match")
                     for n in range(1, 7)],
    "swipe_right": [_props(super_like=False)] * 19 + [_props(super_like=True)],
    "swipe_left": ["{}"],
    "message_sent": [_props(length=n, has_media=m) for n in (3, 8, 14, 21, 35, 52, 80, 140) for m in
                     (False, False, False, True)],
    "video_call_started": [_props(call_type="video"), _props(call_type="audio")],
    "search": [_props(filters=f, radius_km=r) for f in range(4) for r in (5, 10, 25, 50, 100)],
    "feature_used": [_props(feature=f) for f in ("rewind", "passport", "incognito", "read_receipts", "boost",
                                                 "top_picks")],
    "subscription_view": [_props(source=s) for s in ("paywall", "settings", "limit_reached", "promo")],
    "story_view": [_props(position=n, duration_ms=d) for n in range(1, 6) for d in (1200, 3500, 8000)],
}
# stage -> event weights of the in-session mix; stages: 0 not registered, 1 registered, 2 matched,
# 3 messaged, 4 has viewed the subscription offer (funnel events appear only once reached)
_BASE_MIX = {"screen_view": 24, "swipe_left": 22, "swipe_right": 15, "profile_view": 12, "search": 4,
             "feature_used": 5}
STAGE_MIX: tuple[dict[str, float], ...] = (
    {"screen_view": 1},
    _BASE_MIX,
    {**_BASE_MIX, "match_created": 3},
    {**_BASE_MIX, "match_created": 3, "message_sent": 12, "video_call_started": 0.7},
    {**_BASE_MIX, "match_created": 3, "message_sent": 12, "video_call_started": 0.7, "subscription_view": 1.5},
)
SPECIAL = None  # props computed at emission (match_created, app_close)
MILESTONE_PROPS = {"subscription_view": _props(source="paywall")}
MILESTONE_STAGE = {"match_created": 2, "message_sent": 3, "subscription_view": 4}
MIX_TABLE_SIZE = 4096
DRAW_TABLE_SIZE = 16384


@dataclass(slots=True)
class User:
    id: str
    signup_ms: int
    platform: str
    country: str
    channel: str
    email: str
    depth: int
    core: bool
    method: str
    sessions: list[int] = field(default_factory=list)
    deleted_ms: int | None = None
    last_event_ms: int = 0

    @property
    def registered(self) -> bool:
        return self.depth >= REGISTERED


@dataclass(slots=True)
class Purchase:
    user: User
    at_ms: int
    subscription_id: str
    plan: Plan
    trial: bool
    quantity: int


@dataclass(slots=True)
class OneOff:
    user: User
    at_ms: int
    sku: str
    amount_cents: int


@dataclass
class AppResult:
    users: list[User]
    user_rows: list[dict[str, Any]]
    purchases: list[Purchase]
    one_offs: list[OneOff]
    stats: dict[str, int]


def _hour_table(tenant: Tenant) -> list[int]:
    """UTC hours drawn with the tenant's local activity profile (a lookup table)."""
    weights = [HOUR_WEIGHTS[(utc + tenant.utc_offset_hours) % 24] for utc in range(24)]
    total = sum(weights)
    table_: list[int] = []
    for hour, weight in enumerate(weights):
        table_.extend([hour] * round(weight / total * 1000))
    return table_


def _draw_table(draw: Any, size: int = DRAW_TABLE_SIZE) -> list[int]:
    """Pre-drawn values: the hot loop indexes them with one uniform draw instead of sampling a distribution."""
    return [draw() for _ in range(size)]


def _received_delay(rng: random.Random) -> int:
    u = rng.random()
    if u < 0.80:
        return int(rng.lognormvariate(math.log(900), 0.8))  # online: about a second
    if u < 0.97:
        return int(rng.uniform(30 * SECOND, 30 * MINUTE))  # flaky network, batched upload
    return int(rng.uniform(30 * MINUTE, 12 * HOUR))  # offline for a while


def _event_gap(rng: random.Random) -> int:
    return min(int(rng.expovariate(1 / 32_000)) + 1_500, 25 * MINUTE)


class TenantApp:
    """Generates one tenant's users and events, streaming events to the loader and landing buckets."""

    def __init__(
        self,
        tenant: Tenant,
        plans: list[Plan],
        users: int,
        window: Window,
        rng: random.Random,
        ids: Ids,
        loader: SourceLoader,
        events_target: int,
    ) -> None:
        self.tenant = tenant
        self.plans = plans
        self.n_users = users
        self.window = window
        self.rng = rng
        self.ids = ids
        self.loader = loader
        self.events_target = events_target
        self.buckets: Buckets = {}
        self.db_lines: list[str] = []
        self.purchases: list[Purchase] = []
        self.one_offs: list[OneOff] = []
        self.stats: dict[str, int] = {"events.duplicate_db_and_file": 0, "events.duplicate_in_files": 0,
                                      "events.anonymous": 0, "events.story_view": 0}
        # read by the hot loop
        self.rnd = rng.random
        self.start_ms, self.now_ms = window.start_ms, window.now_ms
        self.event_number = ids.last("evt")
        self.late = 0
        self.hours = _hour_table(tenant)
        self.delays = _draw_table(lambda: _received_delay(rng))
        self.gaps = _draw_table(lambda: _event_gap(rng))
        self.mixes = [self._mix_table(mix) for mix in STAGE_MIX]
        self.file_from_day = window.days - FILE_ONLY_LAST_DAYS
        self.story_from = window.now_ms - STORY_LAUNCH_DAYS * DAY
        self.sku = Weighted([((sku, tenant.price(usd)), weight) for sku, usd, weight in ONE_OFF_SKUS])
        self.monthly = [plan for plan in plans if plan.interval == "month"]
        self.yearly = [plan for plan in plans if plan.interval == "year"]
        self.versions = self._version_table()

    # ------------------------------------------------------------------ setup tables

    def _mix_table(self, weights: dict[str, float]) -> list[tuple[str, str | None]]:
        total = sum(weights.values())
        table_: list[tuple[str, str | None]] = []
        for event_type, weight in weights.items():
            variants = PROPERTY_VARIANTS.get(event_type)
            for _ in range(round(weight / total * MIX_TABLE_SIZE)):
                props = variants[int(self.rng.random() * len(variants))] if variants else SPECIAL
                table_.append((event_type, props))
        return table_

    def _version_table(self) -> list[list[str]]:
        """Per day of the window: app versions in use (newest release most often, some lagging)."""
        versions = []
        for day in range(self.window.days + 1):
            release = (day + 40) // 14  # a release every two weeks
            in_use = [release] * 12 + [release - 1] * 5 + [release - 2] * 2 + [release - 3]
            versions.append([f"{5 + r // 10}.{r % 10}.{(r * 7) % 3}" for r in in_use])
        return versions

    # ------------------------------------------------------------------ users

    def make_users(self) -> list[User]:
        rng, window = self.rng, self.window
        start_weekday = window.start_date.weekday()
        weights = []
        for day in range(window.days):
            weekend = 1.15 if (start_weekday + day) % 7 >= 5 else 1.0
            weights.append(math.exp(SIGNUP_GROWTH_PER_DAY * day) * weekend)
        days = rng.choices(range(window.days), cum_weights=list(accumulate(weights)), k=self.n_users)
        hours = self.hours
        signups = sorted(
            window.start_ms + day * DAY + hours[int(rng.random() * len(hours))] * HOUR
            + int(rng.random() * HOUR)
            for day in days
        )
        platforms, channels = Weighted(PLATFORMS), Weighted(CHANNELS)
        countries = Weighted(self.tenant.countries)
        users = []
        for signup_ms in signups:
            user_id = self.ids.next("usr")
            depth = 0
            while depth < len(FUNNEL_CONTINUE) and rng.random() < FUNNEL_CONTINUE[depth]:
                depth += 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{user_id[4:].lstrip('0')}@{rng.choice(EMAIL_DOMAINS)}".lower()
            users.append(User(
                id=user_id, signup_ms=signup_ms, platform=platforms.draw(rng), country=countries.draw(rng),
                channel=channels.draw(rng), email=email, depth=depth,
                core=rng.random() < CORE_SHARE_BY_DEPTH[depth], method=rng.choice(REGISTRATION_METHODS),
            ))
        return users

    def plan_sessions(self, user: User) -> None:
        """Planned session starts: the signup session, then active days with retention decay."""
        rng, window, hours = self.rng, self.window, self.hours
        rnd = rng.random
        signup_day = (user.signup_ms - window.start_ms) // DAY
        sessions = [user.signup_ms]
        day_end = window.start_ms + (signup_day + 1) * DAY
        if user.registered and rnd() < 0.35:
            later = user.signup_ms + int(rng.uniform(40 * MINUTE, 8 * HOUR))
            if later < day_end:
                sessions.append(later)
        remaining = window.days - 1 - signup_day
        weekday0 = (window.start_date.weekday() + signup_day) % 7
        if not user.registered:
            level, tau, floor, extra = 0.06, 1.5, 0.0, 0.1
            remaining = min(remaining, 3)
        elif user.core:
            level, tau, floor, extra = rng.uniform(0.25, 0.7), 14.0, 0.55, 0.5
        else:
            level, tau, floor, extra = rng.uniform(0.3, 0.65), rng.uniform(1.5, 10.0), 0.0, 0.3
        for offset in range(1, remaining + 1):
            p = level * (floor + (1 - floor) * math.exp(-offset / tau))
            if p < 0.003:
                break
            if (weekday0 + offset) % 7 >= 5:
                p *= 1.12
            if rnd() >= p:
                continue
            count = 1
            while count < 5 and rnd() < extra:
                count += 1
            base = window.start_ms + (signup_day + offset) * DAY
            starts = sorted(base + hours[int(rnd() * len(hours))] * HOUR + int(rnd() * HOUR) for _ in range(count))
            sessions.extend(starts)
        user.sessions = sessions

    # ------------------------------------------------------------------ events

    def run(self, on_user: Any = None) -> AppResult:
        users = self.make_users()
        for user in users:
            self.plan_sessions(user)
        self._mark_deleted(users)
        total_sessions = sum(len(user.sessions) for user in users) or 1
        mean_events = min(30.0, max(3.0, self.events_target / total_sessions))
        # app_open + fillers + app_close (70 %) + a few milestone events; the 7 % makes up for the events lost
        # to the end of the window (not yet received, sessions after a deletion)
        self.filler_mean = max(0.5, (mean_events - 1.0 - 0.7 - 0.1) * 1.07)
        for number, user in enumerate(users, start=1):
            self._user_events(user)
            if len(self.db_lines) >= CHUNK_LINES:
                self._flush()
            if on_user is not None and number % 200 == 0:
                on_user(200)
        self._flush()
        self.ids.skip_to("evt", self.event_number)
        self.stats["events.late"] = self.late
        if on_user is not None:
            on_user(len(users) % 200)
        rows = [self._user_row(user) for user in users]
        return AppResult(users, rows, self.purchases, self.one_offs, self.stats)

    def _flush(self) -> None:
        self.loader.copy_lines(EVENTS, self.db_lines)
        self.db_lines = []

    def _mark_deleted(self, users: list[User]) -> None:
        rng, now = self.rng, self.window.now_ms
        for user in users:
            if user.depth >= PURCHASED or rng.random() >= DELETED_SHARE:
                continue
            deleted = user.sessions[-1] + int(rng.uniform(0.5, 20) * DAY)
            if deleted < now:
                user.deleted_ms = deleted

    def _user_row(self, user: User) -> dict[str, Any]:
        fmt = self.window.fmt
        updated = max(user.signup_ms, user.deleted_ms or 0)
        if user.registered and self.rng.random() < 0.3:  # edited their profile later
            latest = min(self.window.now_ms - 1, max(user.last_event_ms, user.signup_ms) + DAY)
            updated = max(updated, int(self.rng.uniform(user.signup_ms, latest)))
        return {
            "id": user.id, "tenant_id": self.tenant.id, "email": user.email, "signup_at": fmt(user.signup_ms),
            "platform": user.platform, "country": user.country, "acquisition_channel": user.channel,
            "deleted_at": self.window.fmt_opt(user.deleted_ms), "updated_at": fmt(updated),
        }

    def _milestones(self, user: User) -> dict[int, list[str]]:
        """Session index -> funnel milestone events after registration, in funnel order."""
        rng = self.rng
        count = len(user.sessions)
        plan: dict[int, list[str]] = {}
        session = 0
        steps = (("match_created", MATCHED, 0.35, 0.5), ("message_sent", MESSAGED, 0.6, 0.5),
                 ("subscription_view", VIEWED, 0.3, 0.35), ("subscription_purchase", PURCHASED, 0.55, 0.4))
        for event_type, depth, same_session, p_next in steps:
            if user.depth < depth:
                break
            if rng.random() >= same_session:
                session += 1
                while rng.random() > p_next:
                    session += 1
            if session >= count:
                break
            plan.setdefault(session, []).append(event_type)
        return plan

    def _purchase_props(self, user: User, at_ms: int) -> str:
        rng = self.rng
        yearly = self.yearly and rng.random() < 0.25
        if yearly:
            plan = self.yearly[0] if len(self.yearly) == 1 or rng.random() < 0.7 else self.yearly[1]
        else:
            plan = self.monthly[0] if len(self.monthly) == 1 or rng.random() < 0.65 else self.monthly[1]
        trial = rng.random() < 0.6
        quantity = 1 if rng.random() < 0.95 else rng.choice((2, 2, 3))
        subscription_id = self.ids.next("sub")
        self.purchases.append(Purchase(user, at_ms, subscription_id, plan, trial, quantity))
        return _props(plan_id=plan.id, subscription_id=subscription_id, price_cents=plan.amount_cents,
                      currency=self.tenant.currency, quantity=quantity, trial=trial)

    def _user_events(self, user: User) -> None:
        rnd = self.rnd
        milestones = self._milestones(user) if user.registered else {}
        end = min(self.now_ms, user.deleted_ms or self.now_ms)
        stage = 1 if user.registered else 0
        prev_end = -DAY
        for index, planned in enumerate(user.sessions):
            start = max(planned, prev_end + 31 * MINUTE + int(rnd() * 10 * MINUTE))
            if start >= end:
                break
            kinds, stage = self._session_kinds(user, index, milestones.get(index, ()), stage)
            if user.platform == "web" and rnd() < ANONYMOUS_WEB_SHARE:
                self._anonymous_event(user, start - int((1 + rnd() * 9) * MINUTE))
            prev_end = self._emit_session(user, start, end, kinds)
            user.last_event_ms = max(user.last_event_ms, prev_end)

    def _session_kinds(
        self, user: User, index: int, milestones: tuple[str, ...] | list[str], stage: int
    ) -> tuple[list[tuple[str, str | None]], int]:
        """The (event_type, properties) of one session, and the user's stage after it."""
        rnd = self.rnd
        kinds: list[tuple[str, str | None]] = [("app_open", PROPERTY_VARIANTS["app_open"][int(rnd() * 12)])]
        if index == 0:
            if user.depth >= 1:
                kinds.append(("registration_start", _props(method=user.method)))
            if user.depth >= REGISTERED:
                kinds.append(("registration_complete", _props(method=user.method, photos_uploaded=1 + int(rnd() * 6))))
        mix = self.mixes[min(stage, len(self.mixes) - 1)]
        fillers = min(80, int(-math.log(1.0 - rnd()) * self.filler_mean))
        kinds.extend(mix[int(rnd() * len(mix))] for _ in range(fillers))
        after = len(kinds) - fillers - 1  # milestones go after app_open and registration, in funnel order
        for event_type in milestones:
            if event_type == "subscription_purchase":
                after = len(kinds)  # the purchase ends what the session was about
            else:
                after += 1 + int(rnd() * (len(kinds) - after))
            kinds.insert(after, (event_type, MILESTONE_PROPS.get(event_type, SPECIAL)))
            stage = MILESTONE_STAGE.get(event_type, stage)
        if stage >= 1 and rnd() < ONE_OFF_PER_SESSION:
            kinds.append(("feature_used", SPECIAL))
        if len(kinds) >= 3 and rnd() < 0.7:
            kinds.append(("app_close", SPECIAL))
        return kinds, stage

    def _emit_session(self, user: User, start: int, end: int, kinds: list[tuple[str, str | None]]) -> int:
        """Emit one session's events (the hot loop: everything is a local); returns the last event's time.

        Each event is routed to app.events or a landing file, maybe duplicated, maybe followed by a bad copy.
        An event received after the end of the window is not emitted (it has not arrived yet).
        """
        rnd, gaps, delays = self.rnd, self.gaps, self.delays
        n_gaps, n_delays = len(gaps), len(delays)
        first_day, prefixes, hms, millis = self.window.format_tables()
        start_ms, now, file_from, story_from = self.start_ms, self.now_ms, self.file_from_day, self.story_from
        db_append, to_file = self.db_lines.append, self._to_file
        session_id = self.ids.next("ses")
        version = None if user.platform == "web" else self._version(start)
        tenant_id = self.tenant.id
        db_head = f"\t{tenant_id}\t{user.id}\t{session_id}\t"
        db_mid = f"\t{user.platform}\t{version or chr(92) + 'N'}\t{user.country}\t"
        json_head = f'", "tenant_id": "{tenant_id}", "user_id": "{user.id}", "session_id": "{session_id}", ' \
                    '"event_type": "'
        json_mid = (f', "platform": "{user.platform}", "app_version": {json.dumps(version)}, '
                    f'"country": "{user.country}", "occurred_at": "')
        number = self.event_number
        t = last = start
        for position, (event_type, props) in enumerate(kinds):
            if position:
                t += gaps[int(rnd() * n_gaps)]
            if t >= end:
                break
            last = t
            if props is None:
                props = self._special_props(user, event_type, t, start)
            elif event_type == "screen_view" and t >= story_from and rnd() < STORY_SHARE_OF_SCREEN_VIEWS:
                event_type = "story_view"
                props = PROPERTY_VARIANTS["story_view"][int(rnd() * 15)]
                self.stats["events.story_view"] += 1
            delay = delays[int(rnd() * n_delays)]
            if rnd() < LATE_SHARE:
                delay = int((2 + 3 * rnd()) * DAY)
                self.late += 1
            received = t + delay
            if received >= now:
                continue
            number += 1
            event_id = f"evt_{number:09d}"
            day, rest = divmod(t, DAY)
            second, milli = divmod(rest, 1000)
            occurred_at = prefixes[day - first_day] + hms[second] + millis[milli]
            day, rest = divmod(received, DAY)
            second, milli = divmod(rest, 1000)
            received_at = prefixes[day - first_day] + hms[second] + millis[milli]
            day = (received - start_ms) // DAY
            if day >= file_from or rnd() < FILE_SHARE:
                line = (f'{{"id": "{event_id}{json_head}{event_type}", "properties": {props}{json_mid}'
                        f'{occurred_at}", "received_at": "{received_at}"}}\n')
                to_file(day, received, line)
                if rnd() < DUPLICATE_IN_FILES:  # a batch sent twice: the same file or the next day's
                    self.stats["events.duplicate_in_files"] += 1
                    again = day + 1 if rnd() < 0.5 and day + 1 < self.window.days else day
                    to_file(again, received if again == day else start_ms + again * DAY, line)
            else:
                db_append(f"{event_id}{db_head}{event_type}\t{props}{db_mid}{occurred_at}\t{received_at}\n")
                if rnd() < DUPLICATE_DB_AND_FILE:  # also uploaded in a file
                    self.stats["events.duplicate_db_and_file"] += 1
                    to_file(day, received, f'{{"id": "{event_id}{json_head}{event_type}", "properties": {props}'
                                           f'{json_mid}{occurred_at}", "received_at": "{received_at}"}}\n')
            if rnd() < BAD_EVENT_SHARE:
                fields = {
                    "id": event_id, "tenant_id": tenant_id, "user_id": user.id, "session_id": session_id,
                    "event_type": event_type, "properties": json.loads(props), "platform": user.platform,
                    "app_version": version, "country": user.country, "occurred_at": occurred_at,
                    "received_at": received_at,
                }
                self.event_number = number
                self._bad_event(fields, received)
                number = self.event_number
        self.event_number = number
        return last

    def _next_event_id(self) -> str:
        self.event_number += 1
        return f"evt_{self.event_number:09d}"

    def _to_file(self, day: int, received: int, line: str) -> None:
        bucket = self.buckets.get(day)
        if bucket is None:
            bucket = self.buckets[day] = []
        bucket.append((received, line))

    def _special_props(self, user: User, event_type: str, t: int, session_start: int) -> str:
        if event_type == "app_close":
            return _props(session_seconds=(t - session_start) // 1000)
        if event_type == "match_created":
            return _props(match_id=self.ids.next("mch"))
        if event_type == "subscription_purchase":
            return self._purchase_props(user, t)
        if event_type == "message_sent":
            return PROPERTY_VARIANTS["message_sent"][int(self.rng.random() * 32)]
        if event_type == "feature_used":  # a paid one-off
            sku, amount = self.sku.draw(self.rng)
            self.one_offs.append(OneOff(user, t, sku, amount))
            return _props(feature=sku.rsplit("_", 1)[0], sku=sku, paid=True)
        return "{}"

    def _version(self, t: int) -> str:
        day = max(0, min(self.window.days, (t - self.window.start_ms) // DAY))
        options = self.versions[day]
        return options[int(self.rng.random() * len(options))]

    # ------------------------------------------------------------------ odd and bad events

    def _anonymous_event(self, user: User, t: int) -> None:
        """A logged-out web page view: no user, no session."""
        if t < self.window.start_ms:
            return
        received = t + self.delays[int(self.rng.random() * DRAW_TABLE_SIZE)]
        if received >= self.window.now_ms:
            return
        fields = {
            "id": self._next_event_id(), "tenant_id": self.tenant.id, "user_id": None, "session_id": None,
            "event_type": "screen_view", "properties": {"screen": "landing", "logged_in": False},
            "platform": "web", "app_version": None, "country": user.country,
            "occurred_at": self.window.fmt(t), "received_at": self.window.fmt(received),
        }
        self.stats["events.anonymous"] += 1
        self._route_fields(fields, received, in_file=None)

    def _route_fields(self, fields: dict[str, Any], received: int, in_file: bool | None) -> None:
        day = (received - self.window.start_ms) // DAY
        if in_file is None:
            in_file = day >= self.file_from_day or self.rng.random() < FILE_SHARE
        if in_file or day >= self.file_from_day:
            self._to_file(day, received, json.dumps(fields) + "\n")
        else:
            values = [fields.get(name) for name in EVENT_FILE_FIELDS]
            values[5] = None if fields["properties"] is None else json.dumps(fields["properties"])
            self.db_lines.append(copy_line(values))

    def _bad_event(self, fields: dict[str, Any], received: int) -> None:
        """A bad copy of the event (meridian.demo.bad_events) with its own id, counted by kind and routed."""
        kind, bad, in_file = bad_copy(self.rng, dict(fields, id=self._next_event_id()), received)
        key = f"events.{kind}"
        self.stats[key] = self.stats.get(key, 0) + 1
        if isinstance(bad, str):  # a file line that is not JSON
            self._to_file((received - self.window.start_ms) // DAY, received, bad)
        else:
            self._route_fields(bad, received, in_file=in_file)
