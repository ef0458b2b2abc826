"""Demo data: every source table of docs/sources.md and the landing event files, from one seed.

``generate()`` replaces the contents of the four source databases (tables
created if missing, truncated, filled with COPY, committed together) and of
the landing directory (old ``*.jsonl*`` there and in ``archive/`` deleted,
new files moved in after the commit). The covered days are
``end_date - days + 1 .. end_date``; nothing happens at or after the end of
``end_date``. The same arguments give byte-identical rows and files: every
random draw comes from ``random.Random`` streams seeded from ``seed``, ids
come from counters, and no wall-clock time enters the data. A manifest of what
was written goes beside the landing directory (:mod:`meridian.demo.generated`),
so ``meridian bench --skip-generate`` can reuse the data.

What is modelled is described in the modules: :mod:`meridian.demo.app`
(users, sessions, events, event files), :mod:`meridian.demo.billing`,
:mod:`meridian.demo.crm`, :mod:`meridian.demo.marketing`, :mod:`meridian.demo.games`, and the bad input in
:mod:`meridian.demo.dirty`.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from meridian.config import settings
from meridian.demo.app import TenantApp, events_target
from meridian.demo.billing import TenantBilling
from meridian.demo.copy_loader import SourceLoader
from meridian.demo.crm import TenantCrm
from meridian.demo.dirty import bad_copies, table_mutations
from meridian.demo.games import TenantGames
from meridian.demo.generated import GenerationSummary, forget, record
from meridian.demo.ids import Ids
from meridian.demo.landing import LandingWriter
from meridian.demo.marketing import TenantMarketing
from meridian.demo.sampling import stream
from meridian.demo.tenants import Tenant, plans_for, split_users, tenant_specs
from meridian.demo.timeline import DAY, Window
from meridian.sources.schema import TABLES

DEFAULT_END_DATE = date(2026, 10, 31)
MIN_DAYS = 3

# id prefix of each table's rows (bad copies get fresh ids from the same counters)
ID_PREFIXES = {
    "users": "usr", "plans": "plan", "subscription_events": "sev", "payments": "pay", "refunds": "rfd",
    "webhook_deliveries": "whd", "sales_reps": "rep", "leads": "lead", "proposals": "prop", "customers": "cus",
    "tournaments": "trn", "tournament_entries": "ent", "marketing_spend": "mks",
}


def generate(
    *,
    seed: int = 42,
    tenants: int = 3,
    users: int = 20_000,
    days: int = 180,
    end_date: date = DEFAULT_END_DATE,
    landing_dir: Path | None = None,
    progress: bool = True,
) -> GenerationSummary:
    """Generate the demo data into the source databases and the landing directory (see the module docstring)."""
    started = time.perf_counter()
    if days < MIN_DAYS:
        raise ValueError(f"days={days} is too short: generate at least {MIN_DAYS} days")
    specs = tenant_specs(tenants)
    sizes = split_users(users, tenants)
    window = Window(end_date - timedelta(days=days - 1), end_date)
    landing_path = Path(landing_dir) if landing_dir is not None else settings().landing_dir
    forget(landing_path)
    landing = LandingWriter(landing_path)
    ids = Ids()
    rows: dict[str, list[dict[str, Any]]] = {spec.name: [] for spec in TABLES if spec.name != "events"}
    anomalies: dict[str, int] = {}
    bar = tqdm(total=users + 3 * tenants + 1, desc="generating", unit="user", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    try:
        with SourceLoader() as loader:
            rows["organizations"] = [_organization(tenant, window) for tenant in specs]
            for tenant, size in zip(specs, sizes, strict=True):
                plans = plans_for(tenant)
                bar.set_description(f"{tenant.id}: users and events")
                app = TenantApp(tenant, plans, size, window, stream(seed, "app", tenant.id), ids, loader,
                                events_target(size, days))
                result = app.run(on_user=bar.update)
                rows["users"] += result.user_rows
                for key, count in result.stats.items():
                    anomalies[key] = anomalies.get(key, 0) + count
                bar.set_description(f"{tenant.id}: event files")
                gzip_rng = stream(seed, "files", tenant.id)
                gzip_draws = [gzip_rng.random() for _ in range(window.days)]
                landing.write_tenant(tenant.id, app.buckets, window, gzip_draws)
                app.buckets.clear()
                bar.update(1)
                bar.set_description(f"{tenant.id}: billing, crm, games")
                billing = TenantBilling(tenant, plans, window, stream(seed, "billing", tenant.id), ids)
                _extend(rows, vars(billing.run(result.purchases, result.one_offs)))
                bar.update(1)
                _extend(rows, vars(TenantCrm(tenant, size, window, stream(seed, "crm", tenant.id), ids).run()))
                marketing = TenantMarketing(tenant, window, stream(seed, "marketing", tenant.id), ids)
                _extend(rows, vars(marketing.run((user.signup_ms, user.channel) for user in result.users)))
                _extend(rows, vars(TenantGames(tenant, result.users, window, stream(seed, "games", tenant.id),
                                               ids).run()))
                bar.update(1)
            bar.set_description("bad rows and COPY")
            mutations = table_mutations({tenant.id: tenant.currency for tenant in specs})
            for name, kinds in mutations.items():
                rows[name] += bad_copies(name, rows[name], kinds, ID_PREFIXES[name], ids, stream(seed, "dirty", name),
                                         anomalies)
            for spec in TABLES:
                if spec.name in rows:
                    columns = spec.column_names
                    loader.copy_rows(spec, [[row[column] for column in columns] for row in rows[spec.name]])
            bar.set_description("committing")
        row_counts = dict(loader.row_counts)
        row_counts["landing.event_lines"] = landing.lines
        event_files = landing.publish()
        bar.update(1)
    except BaseException:
        landing.discard()
        raise
    finally:
        bar.close()
    summary = GenerationSummary(
        tenants=[tenant.id for tenant in specs],
        start_date=window.start_date,
        end_date=window.end_date,
        row_counts=row_counts,
        event_files=event_files,
        seconds=round(time.perf_counter() - started, 3),
        anomalies=dict(sorted(anomalies.items())),
    )
    record(summary, {"seed": seed, "tenants": tenants, "users": users, "days": days, "end_date": end_date},
           landing_path)
    return summary


def _extend(rows: dict[str, list[dict[str, Any]]], produced: dict[str, list[dict[str, Any]]]) -> None:
    for name, table_rows in produced.items():
        rows[name] += table_rows


def _organization(tenant: Tenant, window: Window) -> dict[str, Any]:
    created = window.start_ms - (400 + 170 * tenant.index) * DAY + 9 * 3_600_000
    # the first tenant changed its settings during the window; the others not since a few days after signing up
    if tenant.index == 0:
        updated = window.start_ms + (window.days // 3) * DAY + 11 * 3_600_000
    else:
        updated = created + (3 + tenant.index) * DAY
    return {
        "id": tenant.id, "tenant_id": tenant.id, "name": tenant.name, "currency": tenant.currency,
        "created_at": window.fmt(created), "updated_at": window.fmt(updated),
    }
