"""Billing of one tenant: plans, subscriptions, invoices and their payment attempts, refunds, webhooks.

A ``subscription_purchase`` app event starts a subscription: ``created``
(trialing) a second later, then, after a 7-day trial or at once, the first
invoice. Each invoice is paid in attempts (one payment row each, sharing
``invoice_id`` and counting up ``attempt_number``): a failed first attempt
puts the subscription ``past_due`` and is retried after 1, 3 and 5 days; a
success makes it ``active`` (``activated``, also after past_due); retries
exhausted cancel it. While active, each period may bring a voluntary cancel
(some ``reactivated`` weeks later), a plan change (upgrade or downgrade) or a
quantity change. ``subscription_events`` rows carry the state after the event.

Latency (settled_at - created_at) depends on the method: hundreds of ms for
cards and wallets, seconds for instant bank transfers and crypto, with a long
tail (3-D Secure, payments held for review, standard bank transfers and crypto
confirmations that settle minutes to hours later: the row is updated then). An attempt not settled
by the end of the window is ``pending`` (so is a share of the last day's
attempts, still in the processor's asynchronous capture queue); a refunded payment is ``refunded``
with ``updated_at`` at the refund, and has a ``refunds`` row. Every payment,
refund and subscription event triggers a webhook delivery to one of the
tenant's endpoints, retried with backoff: a legacy endpoint is flaky, and
each tenant has one incident of a few hours when its receivers are down.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from meridian.demo.app import OneOff, Purchase
from meridian.demo.ids import Ids
from meridian.demo.sampling import Weighted
from meridian.demo.tenants import Plan, Tenant
from meridian.demo.timeline import DAY, HOUR, MINUTE, SECOND, Window

METHODS = (("card", 72), ("wallet", 19), ("bank_transfer", 6), ("crypto", 3))
FIRST_ATTEMPT_SUCCESS = {"card": 0.90, "wallet": 0.95, "bank_transfer": 0.93, "crypto": 0.86}
RETRY_SUCCESS = 0.45
RENEWAL_RETRY_DAYS = (1, 3, 5)
ONE_OFF_RETRY_MINUTES = (2,)
FAILURE_REASONS = (("insufficient_funds", 38), ("card_declined", 30), ("expired_card", 14),
                   ("processing_error", 10), ("authentication_required", 8))
REFUND_SHARE = {"subscription": 0.02, "one_off": 0.04}
REFUND_REASONS = (("requested_by_customer", 60), ("duplicate", 12), ("fraudulent", 8), ("service_issue", 20))
TRIAL_DAYS = 7
TRIAL_CANCEL = 0.3
MONTHLY_CANCEL = 0.07
YEARLY_CANCEL = 0.3
PLAN_CHANGE = 0.06
QUANTITY_CHANGE = 0.02
REACTIVATE = 0.12
RESOURCE_NULL_SHARE = 0.1
RECENT_PENDING = 0.08  # attempts of the last day still waiting for the processor's asynchronous capture
WEBHOOK_BACKOFF = (1 * MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 8 * HOUR)
WEBHOOK_TIMEOUT_MS = 10_000


@dataclass
class BillingRows:
    plans: list[dict[str, Any]] = field(default_factory=list)
    subscription_events: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    webhook_deliveries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Invoice:
    paid_at: int | None = None
    first_failed_at: int | None = None
    last_at: int = 0
    exhausted: bool = False  # every attempt failed
    pending: bool = False  # an attempt is still open at the end of the window


def _monthly_equivalent(plan: Plan) -> float:
    return plan.amount_cents / (12 if plan.interval == "year" else 1)


class TenantBilling:
    def __init__(self, tenant: Tenant, plans: list[Plan], window: Window, rng: random.Random, ids: Ids) -> None:
        self.tenant = tenant
        self.plans = plans
        self.window = window
        self.rng = rng
        self.ids = ids
        self.rows = BillingRows()
        self.methods = Weighted(METHODS)
        self.reasons = Weighted(FAILURE_REASONS)
        self.refund_reasons = Weighted(REFUND_REASONS)
        self.user_method: dict[str, str] = {}
        host = tenant.id.replace("_", "-")
        self.endpoints = Weighted([
            (f"https://api.{host}.example.com/webhooks/billing", 70),
            (f"https://hooks.{host}.example.com/payments", 25),
            (f"https://legacy.{host}.example.com/callback", 5),  # the flaky one
        ])
        # one incident per tenant: its receivers are down for a few hours, deliveries retry until it is over
        incident = window.start_ms + int(window.days * (0.55 + 0.1 * tenant.index)) * DAY + 13 * HOUR
        self.outage = (incident, incident + int((3 + tenant.index) * HOUR))

    def run(self, purchases: list[Purchase], one_offs: list[OneOff]) -> BillingRows:
        self._plans()
        items: list[tuple[int, int, Any]] = [(p.at_ms, 0, p) for p in purchases]
        items += [(o.at_ms, 1, o) for o in one_offs]
        for _, kind, item in sorted(items, key=lambda entry: (entry[0], entry[1])):
            if kind == 0:
                self._subscription(item)
            else:
                self._one_off(item)
        return self.rows

    # ------------------------------------------------------------------ plans

    def _plans(self) -> None:
        for plan in self.plans:
            updated = self.window.start_ms - int(self.rng.uniform(10, 300) * DAY)
            self.rows.plans.append({
                "id": plan.id, "tenant_id": self.tenant.id, "name": plan.name, "billing_interval": plan.interval,
                "amount_cents": plan.amount_cents, "currency": self.tenant.currency,
                "updated_at": self.window.fmt(updated),
            })

    # ------------------------------------------------------------------ subscriptions

    def _method_of(self, user_id: str) -> str:
        method = self.user_method.get(user_id)
        if method is None:
            method = self.user_method[user_id] = self.methods.draw(self.rng)
        return method

    def _subscription(self, purchase: Purchase) -> None:
        rng, now = self.rng, self.window.now_ms
        user_id, sub_id = purchase.user.id, purchase.subscription_id
        plan, quantity = purchase.plan, purchase.quantity
        method = self._method_of(user_id)
        state = {"last": 0}

        def emit(kind: str, status: str, at: int) -> bool:
            at = max(at, state["last"] + SECOND)
            if at >= now:
                return False
            state["last"] = at
            received = at + int(rng.lognormvariate(math.log(400), 0.7))
            self.rows.subscription_events.append({
                "id": self.ids.next("sev"), "tenant_id": self.tenant.id, "subscription_id": sub_id,
                "user_id": user_id, "event_type": kind, "status": status, "plan_id": plan.id, "quantity": quantity,
                "occurred_at": self.window.fmt(at),
                "received_at": self.window.fmt(min(received, now - 1)),
            })
            self._webhook(f"subscription.{kind}", at)
            return True

        created = purchase.at_ms + int(rng.uniform(0.2, 2) * SECOND)
        if not emit("created", "trialing", created):
            return
        status = "trialing"
        if purchase.trial:
            bill_at = created + TRIAL_DAYS * DAY
            if rng.random() < TRIAL_CANCEL:  # the trial does not convert
                if not emit("canceled", "canceled", created + int(rng.uniform(0.5, TRIAL_DAYS - 0.1) * DAY)):
                    return
                bill_at = self._reactivation(emit, state["last"])
                if bill_at is None:
                    return
                status = "active"
        else:
            bill_at = created + int(rng.uniform(2, 20) * SECOND)
        while bill_at < now:
            resource = None if rng.random() < RESOURCE_NULL_SHARE else plan.key
            invoice = self._invoice(user_id, bill_at, plan.amount_cents * quantity, method, sub_id, resource,
                                    [days * DAY for days in RENEWAL_RETRY_DAYS], "subscription")
            if invoice.first_failed_at is not None and status != "past_due":
                emit("past_due", "past_due", invoice.first_failed_at + int(rng.uniform(1, 30) * SECOND))
                status = "past_due"
            if invoice.paid_at is not None:
                if status != "active":
                    emit("activated", "active", invoice.paid_at + int(rng.uniform(1, 10) * SECOND))
                    status = "active"
            elif invoice.exhausted:  # dunning over: involuntary churn
                if not emit("canceled", "canceled", invoice.last_at + DAY):
                    return
                bill_at = self._reactivation(emit, state["last"])
                if bill_at is None:
                    return
                status = "active"
                continue
            else:
                return  # still trying at the end of the window
            period = (30 if plan.interval == "month" else 365) * DAY
            next_bill = bill_at + period
            if status != "active":
                bill_at = next_bill
                continue
            draw = rng.random()
            cancel = MONTHLY_CANCEL if plan.interval == "month" else YEARLY_CANCEL
            at = bill_at + int(rng.uniform(HOUR, period - HOUR))
            if draw < cancel:
                if not emit("canceled", "canceled", at):
                    return
                bill_at = self._reactivation(emit, state["last"])
                if bill_at is None:
                    return
                continue
            if draw < cancel + PLAN_CHANGE:
                new_plan = self._other_plan(plan)
                if new_plan is not None and at < now:
                    plan = new_plan
                    emit("plan_changed", "active", at)
            elif draw < cancel + PLAN_CHANGE + QUANTITY_CHANGE and at < now:
                quantity = quantity + 1 if quantity == 1 or rng.random() < 0.6 else quantity - 1
                emit("quantity_changed", "active", at)
            bill_at = next_bill

    def _reactivation(self, emit: Any, canceled_at: int) -> int | None:
        """Maybe win the customer back weeks later: the reactivation time (the next bill), else None."""
        if self.rng.random() >= REACTIVATE:
            return None
        at = canceled_at + int(self.rng.uniform(7, 90) * DAY)
        if not emit("reactivated", "active", at):
            return None
        return at + int(self.rng.uniform(2, 20) * SECOND)

    def _other_plan(self, plan: Plan) -> Plan | None:
        others = [other for other in self.plans if other.id != plan.id]
        if not others:
            return None
        price = _monthly_equivalent(plan)
        up = [other for other in others if _monthly_equivalent(other) > price]
        down = [other for other in others if _monthly_equivalent(other) < price]
        pool = up if (up and (not down or self.rng.random() < 0.65)) else down or up
        return self.rng.choice(pool)

    def _one_off(self, one_off: OneOff) -> None:
        resource = None if self.rng.random() < 0.15 else one_off.sku
        self._invoice(one_off.user.id, one_off.at_ms + int(self.rng.uniform(0.5, 3) * SECOND), one_off.amount_cents,
                      self._method_of(one_off.user.id), None, resource,
                      [minutes * MINUTE for minutes in ONE_OFF_RETRY_MINUTES], "one_off")

    # ------------------------------------------------------------------ payments

    def _latency(self, method: str) -> int:
        """Milliseconds from attempt to settlement: mostly sub-second to seconds, with a long tail."""
        rng = self.rng
        draw = rng.random()
        if method == "card":
            if draw < 0.03:
                return int(rng.uniform(5, 90) * SECOND)  # 3-D Secure challenge
            if draw < 0.05:
                return int(rng.uniform(10 * MINUTE, 24 * HOUR))  # held for review, captured later
            return int(rng.lognormvariate(math.log(450), 0.45))
        if method == "wallet":
            if draw < 0.02:
                return int(rng.uniform(10 * MINUTE, 24 * HOUR))
            return int(rng.lognormvariate(math.log(300), 0.4))
        if method == "bank_transfer":
            if draw < 0.15:
                return int(rng.uniform(1, 48) * HOUR)  # a standard transfer settles in a later batch
            return int(rng.lognormvariate(math.log(2_500), 0.9))  # instant rails
        if draw < 0.2:
            return int(rng.uniform(10, 60) * MINUTE)  # waiting for confirmations
        return int(rng.lognormvariate(math.log(8_000), 0.7))

    def _invoice(self, user_id: str, at: int, amount: int, method: str, subscription_id: str | None,
                 resource: str | None, retry_delays: list[int], kind: str) -> _Invoice:
        rng, window, now = self.rng, self.window, self.window.now_ms
        invoice_id = self.ids.next("inv")
        outcome = _Invoice()
        for attempt in range(1, len(retry_delays) + 2):
            created = at
            if created >= now:
                outcome.pending = True
                return outcome
            outcome.last_at = created
            succeeded = rng.random() < (FIRST_ATTEMPT_SUCCESS[method] if attempt == 1 else RETRY_SUCCESS)
            latency = self._latency(method) if succeeded else int(rng.lognormvariate(math.log(600), 0.6))
            done = created + latency
            row = {
                "id": self.ids.next("pay"), "tenant_id": self.tenant.id, "user_id": user_id,
                "invoice_id": invoice_id, "subscription_id": subscription_id, "amount_cents": amount,
                "currency": self.tenant.currency, "method": method, "status": "pending", "failure_reason": None,
                "attempt_number": attempt, "resource": resource, "created_at": window.fmt(created),
                "settled_at": None, "updated_at": window.fmt(created),
            }
            self.rows.payments.append(row)
            if done >= now or (now - created < DAY and rng.random() < RECENT_PENDING):
                outcome.pending = True
                self._webhook("payment.pending", created)
                return outcome
            if succeeded:
                row.update(status="succeeded", settled_at=window.fmt(done), updated_at=window.fmt(done))
                self._webhook("payment.succeeded", done)
                self._maybe_refund(row, done, amount, kind)
                outcome.paid_at = done
                return outcome
            row.update(status="failed", failure_reason=self.reasons.draw(rng), updated_at=window.fmt(done))
            self._webhook("payment.failed", done)
            if outcome.first_failed_at is None:
                outcome.first_failed_at = done
            if attempt <= len(retry_delays):
                at = created + retry_delays[attempt - 1] + int(rng.uniform(-1, 1) * HOUR * (kind == "subscription"))
        outcome.exhausted = True
        return outcome

    def _maybe_refund(self, payment: dict[str, Any], settled: int, amount: int, kind: str) -> None:
        rng, window = self.rng, self.window
        if rng.random() >= REFUND_SHARE[kind]:
            return
        at = settled + int(rng.uniform(2 * HOUR, 20 * DAY))
        if at >= window.now_ms:
            return
        refunded = amount if rng.random() < 0.85 else max(1, round(amount * rng.uniform(0.3, 0.7)))
        payment.update(status="refunded", updated_at=window.fmt(at))
        self.rows.refunds.append({
            "id": self.ids.next("rfd"), "tenant_id": self.tenant.id, "payment_id": payment["id"],
            "amount_cents": refunded, "reason": self.refund_reasons.draw(rng), "created_at": window.fmt(at),
            "updated_at": window.fmt(at),
        })
        self._webhook("refund.created", at)

    # ------------------------------------------------------------------ webhooks

    def _webhook(self, event_type: str, trigger: int) -> None:
        rng, window, now = self.rng, self.window, self.window.now_ms
        created = trigger + int(rng.uniform(50, 900))
        if created >= now:
            return
        endpoint = self.endpoints.draw(rng)
        flaky = endpoint.startswith("https://legacy.")
        attempt_at, attempts = created, 0
        status, response_ms, delivered_at = "pending", None, None
        while True:
            attempts += 1
            if self.outage[0] <= attempt_at < self.outage[1] and not flaky:
                ok = False  # the tenant's receiver is down
            else:
                ok = rng.random() < ((0.6 if flaky else 0.95) if attempts == 1 else (0.25 if flaky else 0.7))
            timed_out = not ok and rng.random() < 0.35
            response_ms = None if timed_out else int(rng.lognormvariate(math.log(180 if ok else 90), 0.6))
            finished = attempt_at + (response_ms if response_ms is not None else WEBHOOK_TIMEOUT_MS)
            if finished >= now:
                status, response_ms = "pending", None
                finished = attempt_at
                break
            if ok:
                status, delivered_at = "delivered", finished
                break
            if attempts > len(WEBHOOK_BACKOFF):
                status = "failed"
                break
            next_at = finished + WEBHOOK_BACKOFF[attempts - 1]
            if next_at >= now:
                status = "pending"
                break
            attempt_at = next_at
        self.rows.webhook_deliveries.append({
            "id": self.ids.next("whd"), "tenant_id": self.tenant.id, "event_type": event_type,
            "endpoint": endpoint, "status": status, "attempts": attempts, "response_ms": response_ms,
            "created_at": window.fmt(created), "delivered_at": window.fmt_opt(delivered_at),
            "updated_at": window.fmt(finished),
        })
