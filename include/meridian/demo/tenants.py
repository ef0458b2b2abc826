"""The demo tenants: who they are, where their users live, what they charge.

A tenant is an organization of ``app.organizations``; its id is the
``tenant_id`` of every row it owns. The first three have names, the rest are
``tenant_04``, ``tenant_05``, ... Users split unevenly between tenants (the
first is the largest).
"""

from __future__ import annotations

from dataclasses import dataclass

# id, name, currency, UTC offset of its users (hours), price factor vs USD, countries (code, weight)
_NAMED: tuple[tuple[str, str, str, int, float, tuple[tuple[str, float], ...]], ...] = (
    ("acme", "Acme Dating Co.", "USD", -5, 1.0,
     (("US", 70), ("CA", 8), ("MX", 6), ("GB", 4), ("BR", 4), ("IN", 4), ("DE", 2), ("AU", 2))),
    ("globex", "Globex Social", "EUR", 1, 0.9,
     (("DE", 30), ("FR", 25), ("ES", 15), ("IT", 12), ("NL", 8), ("US", 4), ("GB", 3), ("PL", 3))),
    ("initech", "Initech Connect", "GBP", 0, 0.8,
     (("GB", 75), ("IE", 8), ("US", 6), ("AU", 4), ("DE", 3), ("FR", 2), ("IN", 2))),
)
# currency, UTC offset, price factor, countries for tenant_04 onwards (cycled)
_OTHERS: tuple[tuple[str, int, float, tuple[tuple[str, float], ...]], ...] = (
    ("CAD", -5, 1.35, (("CA", 80), ("US", 15), ("FR", 5))),
    ("AUD", 10, 1.5, (("AU", 85), ("NZ", 12), ("GB", 3))),
    ("BRL", -3, 5.0, (("BR", 90), ("PT", 6), ("AR", 4))),
    ("SEK", 1, 10.0, (("SE", 80), ("NO", 10), ("FI", 10))),
    ("CHF", 1, 0.9, (("CH", 85), ("DE", 10), ("FR", 5))),
    ("PLN", 1, 4.0, (("PL", 92), ("DE", 5), ("CZ", 3))),
    ("MXN", -6, 17.0, (("MX", 90), ("US", 7), ("CO", 3))),
    ("USD", -8, 1.0, (("US", 90), ("CA", 10))),
)

MAX_TENANTS = 99


@dataclass(frozen=True)
class Tenant:
    index: int
    id: str
    name: str
    currency: str
    utc_offset_hours: int
    price_factor: float
    countries: tuple[tuple[str, float], ...]

    def price(self, usd_cents: int) -> int:
        """A USD list price in this tenant's currency, rounded to a ``.99`` price point."""
        whole = max(1, round(usd_cents * self.price_factor / 100))
        return whole * 100 - 1

    @property
    def email_domain(self) -> str:
        return f"{self.id.replace('_', '-')}.example.com"


def tenant_specs(count: int) -> list[Tenant]:
    if not 1 <= count <= MAX_TENANTS:
        raise ValueError(f"tenants={count} is out of range: generate between 1 and {MAX_TENANTS} tenants")
    tenants = []
    for index in range(count):
        if index < len(_NAMED):
            tenant_id, name, currency, offset, factor, countries = _NAMED[index]
        else:
            currency, offset, factor, countries = _OTHERS[(index - len(_NAMED)) % len(_OTHERS)]
            tenant_id, name = f"tenant_{index + 1:02d}", f"Tenant {index + 1:02d}"
        tenants.append(Tenant(index, tenant_id, name, currency, offset, factor, countries))
    return tenants


def user_shares(count: int) -> list[float]:
    """Uneven shares of the users per tenant, largest first (3 tenants: 0.51, 0.29, 0.20)."""
    weights = [1 / (index + 1) ** 0.8 for index in range(count)]
    total = sum(weights)
    return [weight / total for weight in weights]


def split_users(users: int, count: int) -> list[int]:
    """Users per tenant: the shares rounded, every tenant at least one user, summing to ``users``."""
    if users < count:
        raise ValueError(f"users={users} is fewer than tenants={count}: every tenant needs at least one user")
    shares = user_shares(count)
    sizes = [max(1, int(users * share)) for share in shares]
    sizes[0] += users - sum(sizes)
    return sizes


# (key, display name, billing interval, USD list price in cents)
PLAN_TEMPLATES: tuple[tuple[str, str, str, int], ...] = (
    ("plus_monthly", "Plus Monthly", "month", 999),
    ("premium_monthly", "Premium Monthly", "month", 1999),
    ("plus_yearly", "Plus Yearly", "year", 7999),
    ("premium_yearly", "Premium Yearly", "year", 15999),
)
_PLAN_SETS = (
    ("plus_monthly", "premium_monthly", "plus_yearly", "premium_yearly"),
    ("plus_monthly", "premium_monthly", "plus_yearly"),
    ("plus_monthly", "plus_yearly"),
)


@dataclass(frozen=True)
class Plan:
    id: str
    key: str
    name: str
    interval: str
    amount_cents: int

    @property
    def tier(self) -> int:
        return 1 if self.key.startswith("premium") else 0


def plans_for(tenant: Tenant) -> list[Plan]:
    """2 to 4 plans per tenant (monthly and yearly) priced in its currency."""
    keys = _PLAN_SETS[tenant.index % len(_PLAN_SETS)]
    return [
        Plan(f"plan_{tenant.id}_{key}", key, name, interval, tenant.price(usd))
        for key, name, interval, usd in PLAN_TEMPLATES
        if key in keys
    ]


FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Dan", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kira", "Leo", "Maya", "Noah",
    "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Xena", "Yusuf", "Zoe", "Amir",
    "Bianca", "Carlos", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nina",
)
LAST_NAMES = (
    "Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan", "Lopez",
    "Muller", "Nowak", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Xu",
    "Young", "Zimmer", "Berg", "Moreau", "Novak", "Smith",
)
COMPANY_WORDS = (
    "Blue", "North", "Bright", "Silver", "Rapid", "Green", "Summit", "Harbor", "Pixel", "Atlas", "Cedar", "Nova",
    "Orbit", "Prime", "Quantum", "River", "Stone", "Vertex", "Willow", "Zenith",
)
COMPANY_NOUNS = (
    "Labs", "Works", "Media", "Systems", "Logistics", "Foods", "Health", "Studios", "Partners", "Retail",
    "Analytics", "Energy", "Travel", "Finance", "Robotics",
)
COMPANY_SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "SA", "BV", "Group", "Co")
