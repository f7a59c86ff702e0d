"""The programme document: what a merchant writes (YAML or JSON) and Trofast validates.

A document is declarative and complete: applying it creates a new programme version, and
points already earned keep the version and rule that earned them. Every field is checked
here, so a document that loads is one the engine can run; a document that does not load
is refused with the path and reason of each problem (`InvalidProgramme`).

See docs/programme.md for the format with examples.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from trofast.coupon.discounts import Discount
from trofast.ingest.types import Currency
from trofast.program.catalogue import REWARD_KINDS, PointsPayment, Reward
from trofast.program.errors import InvalidProgramme

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Points = Annotated[int, Field(ge=1, le=10**9)]
Factor = Annotated[Decimal, Field(gt=0, le=100, max_digits=10, decimal_places=4)]
Rate = Annotated[Decimal, Field(ge=0, le=10**6, max_digits=16, decimal_places=6)]
Channel = Literal["web", "store"]
Text = Annotated[str, Field(min_length=1, max_length=200)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a timezone (e.g. 2026-11-27T00:00:00+01:00)")
    return value


Timestamp = Annotated[datetime, AfterValidator(_aware)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleBase(Strict):
    """What every earning rule has: an id (kept in the ledger as its reason) and a scope."""

    id: Ident
    description: Text | None = None
    channels: list[Channel] | None = None  # None: every channel
    stores: list[Text] | None = None  # store codes; None: every store (and the web)


class SpendRule(RuleBase):
    """Points per unit of currency on the net merchandise value, one rate per currency."""

    kind: Literal["spend"]
    rates: Annotated[dict[Currency, Rate], Field(min_length=1)]


class MultiplierRule(RuleBase):
    """Extra points on lines of chosen categories, products (sku) or brands."""

    kind: Literal["multiplier"]
    factor: Factor
    categories: list[Text] = []
    skus: list[Text] = []
    brands: list[Text] = []

    @model_validator(mode="after")
    def _matches_something(self) -> MultiplierRule:
        if not (self.categories or self.skus or self.brands):
            raise ValueError("a multiplier needs categories, skus or brands")
        return self


class CampaignRule(RuleBase):
    """A multiplier for orders placed in a window ("double points this weekend")."""

    kind: Literal["campaign"]
    factor: Factor
    starts_at: Timestamp
    ends_at: Timestamp
    categories: list[Text] = []

    @model_validator(mode="after")
    def _window(self) -> CampaignRule:
        if self.ends_at <= self.starts_at:
            raise _problem(("ends_at",), "ends_at must be after starts_at")
        return self


class FirstOrderRule(RuleBase):
    """A bonus on a member's first paid order."""

    kind: Literal["first_order"]
    points: Points


class SustainableRule(RuleBase):
    """Points per unit bought of a product marked sustainable."""

    kind: Literal["sustainable_product"]
    points: Points


class Cap(Strict):
    count: Annotated[int, Field(ge=1, le=10**6)]
    period: Literal["day", "week", "month", "year", "lifetime"]


class ActionRule(RuleBase):
    """Points for an action event (sign-up, newsletter opt-in, review, survey, follow, ...)."""

    kind: Literal["action"]
    action: Ident
    points: Points
    cap: Cap | None = None  # per member
    budget: Annotated[int, Field(ge=1, le=10**12)] | None = None  # points, all members


class BirthdayRule(RuleBase):
    """A bonus on the member's birthday (29 February counts on 28 February otherwise)."""

    kind: Literal["birthday"]
    points: Points


EarningRule = Annotated[
    SpendRule
    | MultiplierRule
    | CampaignRule
    | FirstOrderRule
    | SustainableRule
    | ActionRule
    | BirthdayRule,
    Field(discriminator="kind"),
]
RULE_KINDS = (
    "spend",
    "multiplier",
    "campaign",
    "first_order",
    "sustainable_product",
    "action",
    "birthday",
)


class Level(Strict):
    """A tier. `retain` is the value that keeps it at a review (default: its threshold)."""

    id: Ident
    name: Text
    threshold: Annotated[int, Field(ge=0, le=10**12)]
    retain: Annotated[int, Field(ge=0, le=10**12)] | None = None
    multiplier: Factor = Decimal(1)
    free_shipping: bool = False
    rewards: list[Ident] = []  # tier-only rewards

    @property
    def keep_at(self) -> int:
        return self.threshold if self.retain is None else self.retain

    @model_validator(mode="after")
    def _retain_below_threshold(self) -> Level:
        if self.retain is not None and self.retain > self.threshold:
            raise _problem(("retain",), "retain must not exceed threshold")
        return self


class Tiers(Strict):
    """Qualification on points earned or on spend, over a period.

    On spend the thresholds are minor units of the programme's currency; an order in another
    currency counts at its rate in `rates` (units of the programme's currency per unit), or
    not at all."""

    metric: Literal["points", "spend"]
    period: Literal["lifetime", "calendar_year", "rolling_12_months"]
    rates: dict[Currency, Rate] = {}
    levels: Annotated[list[Level], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _rates_on_spend(self) -> Tiers:
        if self.metric == "points" and self.rates:
            raise _problem(("rates",), "rates convert spend; tiers on points need none")
        return self

    @model_validator(mode="after")
    def _ladder(self) -> Tiers:
        if self.levels[0].threshold != 0:
            raise _problem(
                ("levels", 0, "threshold"),
                "the first level is the base tier: its threshold must be 0",
            )
        for i, (a, b) in enumerate(pairwise(self.levels), start=1):
            if b.threshold <= a.threshold:
                raise _problem(
                    ("levels", i, "threshold"),
                    f"level thresholds must increase strictly ({b.threshold} after {a.threshold})",
                )
        _unique([level.id for level in self.levels], "levels", "level id")
        return self


class Expiry(Strict):
    """`lot`: each lot `months` after earning; `inactivity`: the whole balance `months`
    after the last purchase; `none`: points never expire."""

    policy: Literal["none", "lot", "inactivity"] = "none"
    months: Annotated[int, Field(ge=1, le=120)] | None = None
    round_to_month_end: bool = True

    @model_validator(mode="after")
    def _months(self) -> Expiry:
        if self.policy != "none" and self.months is None:
            raise _problem(("months",), f"expiry policy {self.policy!r} needs months")
        return self


class Pending(Strict):
    """Points of an order stay pending until its return window closes."""

    return_window_days: Annotated[int, Field(ge=0, le=365)] = 30


class Returns(Strict):
    """What a reversal does with points the member already spent."""

    spent_points: Literal["allow_debt", "clamp"] = "allow_debt"
    # A reward coupon whose order was cancelled: `coupon` makes the code usable again,
    # `points` disables it and returns the points it cost.
    released_reward: Literal["coupon", "points"] = "coupon"


class WelcomeCoupon(Strict):
    """A coupon for the referred friend, theirs alone, valid `valid_days` from the referral."""

    discount: Discount
    valid_days: Annotated[int, Field(ge=1, le=3650)] = 90
    min_order_minor: Annotated[int, Field(ge=0, le=10**15)] | None = None


class Welcome(Strict):
    """The friend's welcome reward: points or a coupon (exactly one)."""

    points: Points | None = None
    coupon: WelcomeCoupon | None = None

    @model_validator(mode="after")
    def _one(self) -> Welcome:
        if (self.points is None) == (self.coupon is None):
            raise ValueError("a welcome reward is either points or a coupon")
        return self


class Referrals(Strict):
    """Refer a friend: the friend gets `welcome` on arrival, the referrer `referrer_points`
    once the friend's first order has passed its return window (see docs/programme.md)."""

    welcome: Welcome | None = None
    referrer_points: Points
    # At most this many rewarded referrals per referrer and week (Monday to Sunday, UTC).
    max_rewarded_per_week: Annotated[int, Field(ge=1, le=10**4)] | None = None


class Programme(Strict):
    name: Text
    currency: Currency
    enrolment: Literal["automatic", "opt_in"] = "automatic"
    prices_include_tax: bool = True
    # The value of one point in minor units of `currency`, for the liability figures.
    point_value_minor: Annotated[Decimal, Field(ge=0, le=10**6, decimal_places=6)] = Decimal(1)
    pending: Pending = Pending()
    expiry: Expiry = Expiry()
    returns: Returns = Returns()
    earning: Annotated[list[EarningRule], Field(max_length=200)] = []
    tiers: Tiers | None = None
    rewards: Annotated[list[Reward], Field(max_length=500)] = []
    points_payment: PointsPayment | None = None
    referrals: Referrals | None = None

    @model_validator(mode="after")
    def _unique_rules(self) -> Programme:
        _unique([rule.id for rule in self.earning], "earning", "rule id")
        return self

    @model_validator(mode="after")
    def _tier_rates(self) -> Programme:
        if self.tiers is not None and self.currency in self.tiers.rates:
            raise _problem(
                ("tiers", "rates", self.currency),
                "spend in the programme's currency counts as it is; it takes no rate",
            )
        return self

    @model_validator(mode="after")
    def _reward_references(self) -> Programme:
        _unique([reward.id for reward in self.rewards], "rewards", "reward id")
        known = {reward.id for reward in self.rewards}
        for i, level in enumerate(self.tiers.levels if self.tiers else []):
            for j, reward_id in enumerate(level.rewards):
                if reward_id not in known:
                    raise _problem(
                        ("tiers", "levels", i, "rewards", j),
                        f"level {level.id!r} names reward {reward_id!r}, which is not in rewards",
                    )
        return self

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)

    def rules_of(self, kind: str) -> list[Any]:
        return [rule for rule in self.earning if rule.kind == kind]


def _problem(at: tuple[int | str, ...], reason: str) -> PydanticCustomError:
    """A cross-field problem located at `at` below the model that finds it.

    A model validator only knows its own location; `at` (kept in the error's context and
    appended by `validate`) points the merchant at the offending item, not its container.
    """
    # The reason is formatted with the context, so `{at}` is the only format field it could
    # trip over; ids are restricted to [a-z0-9_-], which cannot spell one.
    return PydanticCustomError("programme", reason, {"at": at})


def _unique(values: list[str], field: str, what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise _problem((field, i, "id"), f"duplicate {what} {value!r}")
        seen.add(value)


def decode(text: str | bytes) -> str:
    """A document is UTF-8 text (a BOM allowed), from a file or a request body alike."""
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidProgramme(
            "the document is not UTF-8 text",
            detail={"errors": [{"path": "", "reason": f"invalid byte at {exc.start}"}]},
        ) from None


def load(text: str | bytes, *, fmt: Literal["yaml", "json"] = "yaml") -> Programme:
    """Parse and validate a document; `InvalidProgramme` lists every problem found."""
    source = decode(text)
    try:
        data = json.loads(source) if fmt == "json" else yaml.safe_load(source)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidProgramme(
            "the document is not valid " + fmt.upper(),
            detail={"errors": [{"path": "", "reason": " ".join(str(exc).split())}]},
        ) from None
    return validate(data)


def validate(data: Any) -> Programme:
    try:
        return Programme.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "path": _path(error["loc"] + tuple(error.get("ctx", {}).get("at", ()))),
                "reason": error["msg"].removeprefix("Value error, "),
            }
            for error in exc.errors()
        ]
        raise InvalidProgramme(
            f"the programme has {len(errors)} problem(s)", detail={"errors": errors}
        ) from None


# The union tags Pydantic puts in an error's location, by the list that holds the union.
_TAGS: dict[object, tuple[str, ...]] = {"earning": RULE_KINDS, "rewards": REWARD_KINDS}


def _path(loc: tuple[int | str, ...]) -> str:
    """`earning[2].rates.NOK`, without the union tags Pydantic puts in the location."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if item == "[key]":  # Pydantic's marker for an invalid dict key: the key is the path
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _TAGS.get(loc[i - 2] if i > 1 else "", ()) and isinstance(loc[i - 1], int):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)
