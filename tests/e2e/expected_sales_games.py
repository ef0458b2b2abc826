"""Pure-Python reference of the sales, customer-health and tournament marts of docs/metrics.md.

Computed from the accepted source rows (``expected.accepted_rows``) without SQL and
without anything shared with the dbt models, reading docs/metrics.md literally. Where the
contract leaves room, the reading taken is the one the models document:

1.  Visibility: a timestamp after the end of the as-of date counts nowhere (a lead
    qualified or contacted later is not qualified / contacted yet, a proposal decided
    later is not decided yet, a tournament starting later is not counted).
2.  Sales months of a tenant run from the month of its covered start
    (``expected.covered_ranges``), or of its first visible lead or proposal if earlier,
    through the as-of month; tenants without either have no months.
3.  Leads count in the UTC month of created_at; leads_qualified in the month of
    qualified_at; lead_qualification_rate = leads created in the month with a visible
    qualified_at / leads created; avg_lead_score over the non-null scores;
    avg_hours_to_first_contact over the month's new leads with a visible first_contact_at.
4.  Proposals: created in the month of created_at; won = status accepted, lost = status
    rejected or expired, both in the month of a visible decided_at (a decided status
    without decided_at counts in no month). win_rate = won / (won + lost). avg_deal_size
    over the won amounts; avg_sales_cycle_days over the won proposals whose lead (same
    tenant, accepted) is known: decided_at − lead created_at in days.
5.  The pipeline at a month's end instant (the next month's start; for the as-of month
    the end of the as-of date): proposals created before it that are still a draft or
    sent, or were decided at or after it. Amount and win_probability are the proposal's
    (only) version; a null probability weighs 0.
6.  Sales reps: every accepted rep of the tenant plus every other owner_id on its
    visible proposals (null or '' -> '(unassigned)', name None), for every sales month.
    deals_closed = won, deals_lost = lost, revenue = won amounts.
7.  Tournaments count at started_at, or created_at if never started (UTC date); periods
    day / week (Monday) / month / quarter / year from the period of the tenant's covered
    start, or of its first counted tournament if earlier, through the period holding
    as-of; period_end = next period's start. Entries = accepted entries with the same
    (tenant_id, tournament_id). completion_rate = completed / tournaments; avg_players =
    entries / tournaments; avg_duration_minutes over completed tournaments with both
    times; most_popular_format = most tournaments, ties to the smallest name (None
    without tournaments); revenue = Σ (entry fee or 0) × entries.
8.  Customer health: the dbt snapshot captures each run's staging view; every source
    customer has one version, valid from its updated_at, so the state at the end of date
    d is the accepted customers with updated_at and created_at before the end of d.
    Rows for every date of the covered range. total_customers = status onboarding,
    active or at_risk; avg_health_score and the bands (>= 80, 60-79, 40-59, < 40) over
    those; churned_this_month = status churned with churned_at from the 1st of d's month
    to the end of d; churned = status churned.
9.  Averages and money are rounded once, half away from zero, to 2 places; rates to 4.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tests.e2e.expected import _visible, covered_ranges, end_of_day, month_end_instant, start_of_day, utc_date
from tests.e2e.expected_calc import PERIOD_TYPES, cents_to_units, mean, month_start, periods, rate, round_half_up

Row = dict[str, Any]
Accepted = Mapping[str, Sequence[Row]]

WON = frozenset({"accepted"})
LOST = frozenset({"rejected", "expired"})
OPEN = frozenset({"draft", "sent"})
UNASSIGNED = "(unassigned)"


# --------------------------------------------------------------------------- helpers


def _seconds(delta: timedelta) -> Fraction:
    return Fraction(delta // timedelta(microseconds=1), 1_000_000)


def _money_mean(cents: list[int]) -> Decimal | None:
    return cents_to_units(Fraction(sum(cents), len(cents))) if cents else None


def _extended_starts(accepted: Accepted, as_of: date, extra: Mapping[str, date]) -> dict[str, date]:
    """First date per tenant: the covered start, or the extra start if earlier (tenants with either)."""
    starts = {tenant: first for tenant, (first, _) in covered_ranges(accepted, as_of).items()}
    for tenant, day in extra.items():
        starts[tenant] = min(starts.get(tenant, day), day)
    return starts


# --------------------------------------------------------------------------- sales


def _visible_leads(accepted: Accepted, as_of: date) -> list[Row]:
    return [lead for lead in accepted.get("leads", ()) if _visible(lead["created_at"], as_of)]


def _visible_proposals(accepted: Accepted, as_of: date) -> list[Row]:
    return [p for p in accepted.get("proposals", ()) if _visible(p["created_at"], as_of)]


def sales_months(accepted: Accepted, as_of: date) -> dict[str, list[date]]:
    """{tenant_id: [sales_month, ...]} (reading 2)."""
    first_crm: dict[str, date] = {}
    for row in [*_visible_leads(accepted, as_of), *_visible_proposals(accepted, as_of)]:
        day = utc_date(row["created_at"])
        first_crm[row["tenant_id"]] = min(first_crm.get(row["tenant_id"], day), day)
    return {
        tenant: [start for start, _ in periods("month", first, as_of)]
        for tenant, first in _extended_starts(accepted, as_of, first_crm).items()
    }


def _decision(proposal: Row, as_of: date) -> str | None:
    """'won' / 'lost' when decided by the end of as-of, else None."""
    if not _visible(proposal["decided_at"], as_of):
        return None
    if proposal["status"] in WON:
        return "won"
    if proposal["status"] in LOST:
        return "lost"
    return None


def is_open_at(proposal: Row, instant: datetime) -> bool:
    """Open (draft or sent, not yet decided) at ``instant``, from the proposal's timestamps (reading 5)."""
    if not proposal["created_at"] < instant:
        return False
    if proposal["status"] in OPEN:
        return True
    return proposal["decided_at"] is not None and proposal["decided_at"] >= instant


def sales_monthly(accepted: Accepted, as_of: date) -> dict[tuple[str, date], dict[str, Any]]:
    """{(tenant_id, sales_month): {every fct_sales_monthly metric}}."""
    leads = _visible_leads(accepted, as_of)
    proposals = _visible_proposals(accepted, as_of)
    lead_created = {(lead["tenant_id"], lead["id"]): lead["created_at"] for lead in accepted.get("leads", ())}
    out: dict[tuple[str, date], dict[str, Any]] = {}
    for tenant, months in sales_months(accepted, as_of).items():
        tenant_leads = [lead for lead in leads if lead["tenant_id"] == tenant]
        tenant_proposals = [p for p in proposals if p["tenant_id"] == tenant]
        for month in months:
            created = [lead for lead in tenant_leads if month_start(utc_date(lead["created_at"])) == month]
            qualified_by_as_of = [lead for lead in created if _visible(lead["qualified_at"], as_of)]
            contacted = [lead for lead in created if _visible(lead["first_contact_at"], as_of)]
            qualified_in_month = [
                lead
                for lead in tenant_leads
                if _visible(lead["qualified_at"], as_of) and month_start(utc_date(lead["qualified_at"])) == month
            ]
            decided = [
                (p, _decision(p, as_of))
                for p in tenant_proposals
                if _decision(p, as_of) and month_start(utc_date(p["decided_at"])) == month
            ]
            won = [p for p, outcome in decided if outcome == "won"]
            lost = [p for p, outcome in decided if outcome == "lost"]
            cycles = [
                _seconds(p["decided_at"] - lead_created[(tenant, p["lead_id"])]) / 86400
                for p in won
                if (tenant, p["lead_id"]) in lead_created
            ]
            instant = month_end_instant(month, as_of)
            pipeline = [p for p in tenant_proposals if is_open_at(p, instant)]
            weighted = sum(
                (
                    Fraction(p["amount_cents"]) * Fraction(p["win_probability"])
                    for p in pipeline
                    if p["win_probability"] is not None
                ),
                Fraction(0),
            )
            out[(tenant, month)] = {
                "leads_created": len(created),
                "leads_qualified": len(qualified_in_month),
                "lead_qualification_rate": rate(len(qualified_by_as_of), len(created)),
                "avg_lead_score": mean(lead["score"] for lead in created if lead["score"] is not None),
                "proposals_created": sum(
                    1 for p in tenant_proposals if month_start(utc_date(p["created_at"])) == month
                ),
                "proposals_won": len(won),
                "proposals_lost": len(lost),
                "win_rate": rate(len(won), len(won) + len(lost)),
                "pipeline_value": cents_to_units(sum(p["amount_cents"] for p in pipeline)),
                "weighted_pipeline": cents_to_units(weighted),
                "avg_deal_size": _money_mean([p["amount_cents"] for p in won]),
                "avg_sales_cycle_days": mean(cycles),
                "avg_hours_to_first_contact": mean(
                    _seconds(lead["first_contact_at"] - lead["created_at"]) / 3600 for lead in contacted
                ),
                "open_proposals": len(pipeline),
            }
    return out


def _rep_id(owner_id: str | None) -> str:
    return owner_id if owner_id else UNASSIGNED


def sales_rep_monthly(accepted: Accepted, as_of: date) -> dict[tuple[str, date, str], dict[str, Any]]:
    """{(tenant_id, sales_month, rep_id): {rep_name, deals_closed, deals_lost, revenue, win_rate}}."""
    proposals = _visible_proposals(accepted, as_of)
    reps: dict[str, dict[str, str | None]] = defaultdict(dict)
    for rep in accepted.get("sales_reps", ()):
        reps[rep["tenant_id"]][rep["id"]] = rep["name"]
    for proposal in proposals:
        reps[proposal["tenant_id"]].setdefault(_rep_id(proposal["owner_id"]), None)
    deals: dict[tuple[str, date, str], dict[str, list[int]]] = defaultdict(lambda: {"won": [], "lost": []})
    for proposal in proposals:
        outcome = _decision(proposal, as_of)
        if outcome:
            key = (proposal["tenant_id"], month_start(utc_date(proposal["decided_at"])), _rep_id(proposal["owner_id"]))
            deals[key][outcome].append(proposal["amount_cents"])
    out: dict[tuple[str, date, str], dict[str, Any]] = {}
    for tenant, months in sales_months(accepted, as_of).items():
        for month in months:
            for rep_id, name in reps.get(tenant, {}).items():
                won, lost = deals.get((tenant, month, rep_id), {"won": [], "lost": []}).values()
                out[(tenant, month, rep_id)] = {
                    "rep_name": name,
                    "deals_closed": len(won),
                    "deals_lost": len(lost),
                    "revenue": cents_to_units(sum(won)),
                    "win_rate": rate(len(won), len(won) + len(lost)),
                }
    return out


# --------------------------------------------------------------------------- customer health


def _churned_at(customer: Row) -> Any:
    """The churn the customer's version records (its churned_at when its status is churned)."""
    return customer["churned_at"] if customer["status"] == "churned" else None


def _state_known(customer: Row, end: Any) -> bool:
    """Its (only) version is valid at ``end``: updated before it."""
    return customer["updated_at"] is not None and customer["updated_at"] < end


def _counted(customer: Row, known: bool, began: Any) -> bool:
    """Counted on the day that began at ``began``: not churned before it (a known churn without a date is)."""
    churn = _churned_at(customer)
    if known and customer["status"] == "churned":
        return churn is not None and churn >= began
    return churn is None or churn >= began


def customer_health_daily(accepted: Accepted, as_of: date) -> dict[tuple[str, date], dict[str, Any]]:
    """{(tenant_id, as_of_date): {every fct_customer_health_daily metric}} (reading 8).

    Each customer has one accepted version here (its row as of the as-of date). A customer counts
    from its created_at until the day it churns (inclusive); its state (status, score) is known from
    the version's updated_at on, unknown before: counted, but in no status, score or band column.
    """
    customers: dict[str, list[Row]] = defaultdict(list)
    for customer in accepted.get("customers", ()):
        customers[customer["tenant_id"]].append(customer)
    out: dict[tuple[str, date], dict[str, Any]] = {}
    for tenant, (first, last) in covered_ranges(accepted, as_of).items():
        day = first
        while day <= last:
            began, end = start_of_day(day), end_of_day(day)
            created = [c for c in customers.get(tenant, ()) if c["created_at"] < end]
            known = [c for c in created if _state_known(c, end)]
            current = [c for c in created if _counted(c, _state_known(c, end), began)]
            current_known = [c for c in current if _state_known(c, end)]
            scores = [c["health_score"] for c in current_known if c["health_score"] is not None]
            month_began = start_of_day(month_start(day))
            out[(tenant, day)] = {
                "total_customers": len(current),
                "active": sum(c["status"] == "active" for c in known),
                "onboarding": sum(c["status"] == "onboarding" for c in known),
                "at_risk": sum(c["status"] == "at_risk" for c in known),
                "churned_this_month": sum(
                    _churned_at(c) is not None and month_began <= _churned_at(c) < end for c in created
                ),
                "avg_health_score": mean(scores),
                "healthy": sum(s >= 80 for s in scores),
                "stable": sum(60 <= s < 80 for s in scores),
                "at_risk_band": sum(40 <= s < 60 for s in scores),
                "critical": sum(s < 40 for s in scores),
                "churned": sum(c["status"] == "churned" for c in known),
                "customers_with_known_state": len(current_known),
            }
            day += timedelta(days=1)
    return out


# --------------------------------------------------------------------------- tournaments


def counted_tournaments(accepted: Accepted, as_of: date) -> list[dict[str, Any]]:
    """Every tournament counted by the end of as-of, with its counted date and entries."""
    entries: dict[tuple[str, str], int] = defaultdict(int)
    for entry in accepted.get("tournament_entries", ()):
        entries[(entry["tenant_id"], entry["tournament_id"])] += 1
    out = []
    for tournament in accepted.get("tournaments", ()):
        counted_at = tournament["started_at"] or tournament["created_at"]
        if not _visible(counted_at, as_of):
            continue
        players = entries.get((tournament["tenant_id"], tournament["id"]), 0)
        completed = tournament["status"] == "completed"
        has_times = tournament["started_at"] is not None and tournament["ended_at"] is not None
        out.append(
            {
                "tenant_id": tournament["tenant_id"],
                "format": tournament["format"],
                "counted_date": utc_date(counted_at),
                "completed": completed,
                "players": players,
                "revenue_cents": (tournament["entry_fee_cents"] or 0) * players,
                "duration_minutes": (
                    _seconds(tournament["ended_at"] - tournament["started_at"]) / 60
                    if completed and has_times
                    else None
                ),
            }
        )
    return out


def _most_popular(formats: list[str]) -> str | None:
    counts: dict[str, int] = defaultdict(int)
    for name in formats:
        counts[name] += 1
    return min(counts, key=lambda name: (-counts[name], name)) if counts else None


def tournaments_by_period(accepted: Accepted, as_of: date) -> dict[tuple[str, str, date], dict[str, Any]]:
    """{(tenant_id, period_type, period_start): {every fct_tournaments_by_period metric}} (reading 7)."""
    tournaments = counted_tournaments(accepted, as_of)
    first_tournament: dict[str, date] = {}
    for t in tournaments:
        first_tournament[t["tenant_id"]] = min(
            first_tournament.get(t["tenant_id"], t["counted_date"]), t["counted_date"]
        )
    out: dict[tuple[str, str, date], dict[str, Any]] = {}
    for tenant, first in _extended_starts(accepted, as_of, first_tournament).items():
        mine = [t for t in tournaments if t["tenant_id"] == tenant]
        for period_type in PERIOD_TYPES:
            for start, end in periods(period_type, first, as_of):
                inside = [t for t in mine if start <= t["counted_date"] < end]
                completed = [t for t in inside if t["completed"]]
                players = sum(t["players"] for t in inside)
                out[(tenant, period_type, start)] = {
                    "period_end": end,
                    "tournament_count": len(inside),
                    "completed_count": len(completed),
                    "completion_rate": rate(len(completed), len(inside)),
                    "total_players": players,
                    "avg_players": round_half_up(Fraction(players, len(inside)), 2) if inside else None,
                    "avg_duration_minutes": mean(
                        t["duration_minutes"] for t in completed if t["duration_minutes"] is not None
                    ),
                    "most_popular_format": _most_popular([t["format"] for t in inside]),
                    "revenue": cents_to_units(sum(t["revenue_cents"] for t in inside)),
                }
    return out
