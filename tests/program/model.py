"""A plain model of the programme for the state machine, written from the documented rules.

- Each rule's points are its exact line shares summed and rounded down once; they are split
  over the lines by largest remainder (ties to the earlier line) so a refund can take back
  what its lines earned. Multipliers add `base × (factor − 1)`; the tier's multiplier is its
  own award, `tier:<level>`.
- A refund returns, per line, the refunded quantity's share plus the share that refunds
  without lines gave back of the merchandise, capped at the whole line; the earning stands
  reversed by the cumulative figure rounded down. A cancellation reverses everything.
- Tiers: up at once when the value reaches a threshold; after a return, a level the value no
  longer reaches is taken back; at the end of every calendar year the member keeps the
  highest level (at most the current one) whose retention value that year reached, reviewed
  by the job or by the member's next event, whichever comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from tests.ledger.model import Lot, Member
from trofast.ledger.core import DebtPolicy

RETURN_WINDOW = timedelta(days=14)
EXPIRY_MONTHS = 6

_COMMON = f"""
currency: NOK
pending: {{return_window_days: {RETURN_WINDOW.days}}}
expiry: {{policy: lot, months: {EXPIRY_MONTHS}, round_to_month_end: true}}
tiers:
  metric: points
  period: calendar_year
  levels:
    - {{id: base, name: Base, threshold: 0}}
    - {{id: silver, name: Silver, threshold: 600, retain: 400, multiplier: 1.25}}
    - {{id: gold, name: Gold, threshold: 2000, retain: 1500, multiplier: 2}}
"""
# A friend's first order rewards the referrer once a week at most, so two friends whose
# first orders come due in one week show the cap.
V1 = f"""
name: State machine club
returns: {{spent_points: allow_debt, released_reward: coupon}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1}}}}
  - {{id: wool, kind: multiplier, factor: 1.5, categories: [wool]}}
  - {{id: first, kind: first_order, points: 100}}
referrals: {{welcome: {{points: 50}}, referrer_points: 200, max_rewarded_per_week: 1}}
{_COMMON}"""
# The same rule ids with other numbers, so a reversal that used today's rule would show.
V2 = f"""
name: State machine club, second edition
returns: {{spent_points: clamp, released_reward: points}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1.5}}}}
  - {{id: wool, kind: multiplier, factor: 3, categories: [wool]}}
referrals: {{welcome: {{points: 75}}, referrer_points: 250, max_rewarded_per_week: 1}}
{_COMMON}"""


@dataclass(frozen=True)
class Rules:
    """One programme version as the model reads it."""

    version: int
    rate: Fraction  # points per NOK
    wool: Fraction  # factor on lines of the wool category
    first: int  # first-order bonus, 0 for none
    debt: DebtPolicy
    welcome: int  # a referred friend's welcome points
    referrer: int  # the referrer's points for a friend's kept first order
    released_reward: str  # what a reward coupon's cancelled order gives back: coupon, points


VERSIONS = {
    1: Rules(1, Fraction(1), Fraction(3, 2), 100, DebtPolicy.allow_debt, 50, 200, "coupon"),
    2: Rules(2, Fraction(3, 2), Fraction(3), 0, DebtPolicy.clamp, 75, 250, "points"),
}


@dataclass(frozen=True)
class Level:
    id: str
    threshold: int
    keep_at: int
    multiplier: Fraction


LEVELS = (
    Level("base", 0, 0, Fraction(1)),
    Level("silver", 600, 400, Fraction(5, 4)),
    Level("gold", 2000, 1500, Fraction(2)),
)


@dataclass(frozen=True)
class Line:
    quantity: int
    unit_minor: int
    wool: bool
    gift_card: bool

    @property
    def value(self) -> int:
        """Net merchandise value: gift cards are money, not merchandise."""
        return 0 if self.gift_card else self.quantity * self.unit_minor


@dataclass
class Earning:
    rule: str
    version: int
    lines: dict[int, int]  # line index → points
    lot: Lot
    reversed: int = 0
    targets: set[int] = field(default_factory=set)  # reversal keys written

    @property
    def points(self) -> int:
        return sum(self.lines.values())


@dataclass
class Order:
    ext: str
    member: int
    lines: list[Line]
    placed_at: datetime
    db_id: int = 0
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    delivered_at: datetime | None = None
    claimed: bool = False
    refunded: dict[int, int] = field(default_factory=dict)  # line index → quantity
    unlined: int = 0  # merchandise refunded without lines, minor units
    refunded_at: datetime | None = None
    refunds: int = 0
    earnings: list[Earning] = field(default_factory=list)

    @property
    def merchandise(self) -> int:
        return sum(line.value for line in self.lines)

    def refundable(self, index: int) -> int:
        return self.lines[index].quantity - self.refunded.get(index, 0)


def largest_remainder(total: int, shares: dict[int, Fraction]) -> dict[int, int]:
    floors = {k: int(v) for k, v in shares.items()}
    left = total - sum(floors.values())
    for k in sorted(shares, key=lambda k: (floors[k] - shares[k], k))[:left]:
        floors[k] += 1
    return floors


def awards(
    rules: Rules, lines: list[Line], *, first: bool, level: Level
) -> list[tuple[str, dict[int, int]]]:
    """(rule, points per line) of every award an order earns, zero awards left out."""
    base = {i: Fraction(line.value) * rules.rate / 100 for i, line in enumerate(lines)}
    shares: list[tuple[str, dict[int, Fraction]]] = [("base", base)]
    shares.append(("wool", {i: b * (rules.wool - 1) for i, b in base.items() if lines[i].wool}))
    total = sum(line.value for line in lines)
    if first and rules.first and total:
        exact = {i: Fraction(rules.first * line.value, total) for i, line in enumerate(lines)}
        split = largest_remainder(rules.first, exact)
        shares.append(("first", {i: Fraction(p) for i, p in split.items()}))
    if level.multiplier != 1:
        shares.append(
            (f"tier:{level.id}", {i: b * (level.multiplier - 1) for i, b in base.items()})
        )
    out = []
    for rule, by_line in shares:
        points = int(sum(by_line.values(), Fraction(0)))
        if points > 0:
            out.append((rule, largest_remainder(points, by_line)))
    return out


def reversal_target(order: Order, earned: dict[int, int]) -> int:
    """Points of an earning (`earned`: points per line) that should stand reversed after the
    order's refunds so far."""
    total = sum(earned.values())
    if order.cancelled_at is not None:
        return total
    merchandise = order.merchandise
    by_amount = Fraction(0)
    if order.unlined > 0 and merchandise > 0:
        by_amount = min(Fraction(order.unlined, merchandise), Fraction(1))
    exact = Fraction(0)
    for i, points in earned.items():
        share = by_amount + Fraction(order.refunded.get(i, 0), order.lines[i].quantity)
        exact += points * min(share, Fraction(1))
    return min(total, int(exact))


def expires_at(paid_at: datetime) -> datetime:
    """`EXPIRY_MONTHS` after payment, rounded to the end of that month (UTC)."""
    index = paid_at.year * 12 + paid_at.month - 1 + EXPIRY_MONTHS + 1
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def new_year_after(at: datetime) -> datetime:
    return datetime(at.year + 1, 1, 1, tzinfo=UTC)


def qualified(value: int) -> Level:
    # A year's value is negative when it reverses more than it earned (points earned the
    # year before, returned this year): the lowest level, as for zero.
    return ([level for level in LEVELS if value >= level.threshold] or [LEVELS[0]])[-1]


def kept(current: Level, value: int) -> Level:
    candidates = LEVELS[: LEVELS.index(current) + 1]
    return ([level for level in candidates if value >= level.keep_at] or [LEVELS[0]])[-1]


@dataclass
class Customer(Member):
    """A member's lots (the ledger model), tier and qualification entries."""

    level: Level = LEVELS[0]
    review_at: datetime | None = None
    has_tier_row: bool = False
    qualifying: list[tuple[datetime, int]] = field(default_factory=list)  # (effective, net)

    def value(self, start: datetime, end: datetime | None = None) -> int:
        return sum(p for at, p in self.qualifying if start <= at and (end is None or at < end))


class Club:
    """What the engine should have done: members, orders and the programme in force.

    `engine_now` is the clock ingestion ran at; `now` the clock of a job or a redemption.
    """

    def __init__(self) -> None:
        self.rules = VERSIONS[1]
        self.members: list[Customer] = []
        self.orders: list[Order] = []
        self.seq = 0

    def sync(self, order: Order, engine_now: datetime) -> None:
        """An event about `order` was applied: earn, reverse, reschedule, evaluate the tier."""
        member = self.members[order.member]
        earned = 0
        if order.paid_at and order.cancelled_at is None and not order.claimed:
            earned = self._earn(order, member, order.paid_at, engine_now)
        written = self._reverse(order, member, engine_now)
        if order.delivered_at is not None:
            for earning in order.earnings:
                if earning.lot.state == "pending":
                    earning.lot.available_at = order.delivered_at + RETURN_WINDOW
        if earned or written:
            self._evaluate(member, engine_now, returned=bool(written))

    def _earn(self, order: Order, member: Customer, paid_at: datetime, engine_now: datetime) -> int:
        order.claimed = True
        self._catch_up(member, engine_now)  # earn at the reviewed level, job run or not
        # First: no other paid, live order placed before it or already earned.
        first = not any(
            o is not order and o.member == order.member and o.paid_at
            and o.cancelled_at is None and (o.placed_at < order.placed_at or o.claimed)
            for o in self.orders
        )  # fmt: skip
        available_at = (order.delivered_at or paid_at) + RETURN_WINDOW
        pending = available_at > engine_now
        total = 0
        for rule, lines in awards(self.rules, order.lines, first=first, level=member.level):
            points = sum(lines.values())
            self.seq += 1
            # Lots of one expiry date are spent in the order they were earned in: by the
            # engine's clock, then by lot id (`seq`).
            lot = Lot(
                self.seq, points, points, "pending" if pending else "available", engine_now,
                available_at, expires_at(paid_at), 0,
            )  # fmt: skip
            member.lots.append(lot)
            if not pending:
                member.credit(lot)
            member.earned += points
            member.qualifying.append((paid_at, points))
            order.earnings.append(Earning(rule, self.rules.version, lines, lot))
            total += points
        return total

    def _reverse(self, order: Order, member: Customer, engine_now: datetime) -> int:
        if not (order.cancelled_at or order.refunded or order.unlined):
            return 0
        effective_at = order.cancelled_at or order.refunded_at
        assert effective_at is not None
        written = 0
        for earning in order.earnings:
            target = reversal_target(order, earning.lines)
            if target <= 0 or target in earning.targets:
                continue
            earning.targets.add(target)
            written += 1
            delta = target - earning.reversed
            assert delta > 0  # refunds only add up: a target not written yet is a higher one
            earning.reversed += delta
            member.reversed += delta
            member.qualifying.append((effective_at, -delta))
            from_lot = min(delta, earning.lot.remaining)
            earning.lot.remaining -= from_lot
            missing = member.take(member.spendable(engine_now), delta - from_lot)
            if self.rules.debt is DebtPolicy.allow_debt:
                member.debt += missing
        return written

    def _evaluate(self, member: Customer, engine_now: datetime, *, returned: bool) -> None:
        self._catch_up(member, engine_now)
        value = member.value(datetime(engine_now.year, 1, 1, tzinfo=UTC))
        target, rank = qualified(value), LEVELS.index
        if rank(target) > rank(member.level) or (
            returned and member.has_tier_row and rank(target) < rank(member.level)
        ):
            member.level = target
            member.review_at = None if target == LEVELS[0] else new_year_after(engine_now)
        member.has_tier_row = True

    def settle(self, now: datetime) -> None:
        for member in self.members:
            for lot in member.lots:
                if lot.state == "pending" and lot.available_at and lot.available_at <= now:
                    lot.state = "available"
                    member.credit(lot)

    def expire(self, now: datetime) -> None:
        for member in self.members:
            member.expire(now)

    def review(self, now: datetime) -> None:
        for member in self.members:
            self._catch_up(member, now)

    @staticmethod
    def _catch_up(member: Customer, now: datetime) -> None:
        """The member's reviews due by `now`: the job's, or an event's before it reads the level."""
        while member.review_at is not None and member.review_at <= now:
            ended = member.review_at
            member.level = kept(
                member.level, member.value(datetime(ended.year - 1, 1, 1, tzinfo=UTC), ended)
            )
            # Every year that ended is reviewed, one after the other.
            member.review_at = None if member.level == LEVELS[0] else new_year_after(ended)
