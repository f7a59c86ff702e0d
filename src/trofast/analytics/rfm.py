"""RFM: recency, frequency and monetary value, quintile scores and named segments.

Assumptions
-----------
- Measured at a date ``at`` over the orders placed on or before it: recency is the number of
  days since the last order, frequency the number of orders, monetary the total spend (refunds
  included, so it can be zero or negative).
- Scores are quintiles 1-5 of the customers present at ``at`` (5 is best: most recent, most
  frequent, highest spend): ``score = 1 + floor(5 (rank - 1) / n)`` with the *minimum* rank for
  ties, so customers who behave the same always get the same score (with many one-order
  customers, frequency scores start high above the tie rather than splitting it at random).
- Segments are read off the R x FM grid, ``FM = ceil((F + M) / 2)``, the layout of the common
  RFM segment charts. Public maps disagree and often overlap; the default below covers the 25
  cells exactly once and can be replaced.

Default segment map (rows R = 5..1, columns FM = 1..5)::

    R=5  New Customers   Potential Loyalists  Potential Loyalists  Champions        Champions
    R=4  Promising       Potential Loyalists  Potential Loyalists  Loyal Customers  Champions
    R=3  About to Sleep  About to Sleep       Need Attention       Loyal Customers  Loyal Customers
    R=2  Hibernating     Hibernating          At Risk              At Risk          Can't Lose Them
    R=1  Lost            Lost                 Hibernating          At Risk          Can't Lose Them

References
----------
Hughes, A. M. (1994). Strategic Database Marketing. Probus (the RFM quintile method).
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from trofast.analytics.errors import InvalidInput
from trofast.analytics.summary import FrameLike, to_lazy

SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)
NOT_YET_CUSTOMER = "(not yet a customer)"


@dataclass(frozen=True)
class SegmentMap:
    """A segment name for every (R, FM) cell of the 5 x 5 grid, exactly once.

    Build one with `from_grid` (rows of names) or `from_cells` (segment -> list of "R,FM"
    cells); both refuse maps with gaps or overlaps.
    """

    cells: Mapping[tuple[int, int], str]

    def __post_init__(self) -> None:
        expected = {(r, fm) for r in range(1, 6) for fm in range(1, 6)}
        missing = sorted(expected - set(self.cells))
        extra = sorted(set(self.cells) - expected)
        if missing or extra:
            raise InvalidInput(
                "a segment map must name each of the 25 (R, FM) cells exactly once",
                detail={"missing": missing, "unknown": extra},
            )

    @classmethod
    def from_grid(cls, rows: Mapping[int, Sequence[str]]) -> SegmentMap:
        """``{R: [name for FM=1, ..., name for FM=5]}`` for R = 1..5."""
        cells: dict[tuple[int, int], str] = {}
        for r, names in rows.items():
            if len(names) != 5:
                raise InvalidInput(f"row R={r} must name 5 FM cells, not {len(names)}")
            for fm, name in enumerate(names, start=1):
                cells[(int(r), fm)] = name
        return cls(cells)

    @classmethod
    def from_cells(cls, segments: Mapping[str, Sequence[str]]) -> SegmentMap:
        """``{segment: ["5,4", "5,5", ...]}``; a cell named twice is an overlap and refused."""
        cells: dict[tuple[int, int], str] = {}
        for name, specs in segments.items():
            for spec in specs:
                try:
                    r_text, fm_text = spec.split(",")
                    cell = (int(r_text), int(fm_text))
                except ValueError:
                    raise InvalidInput(f"bad cell {spec!r}: write it as 'R,FM'") from None
                if cell in cells:
                    raise InvalidInput(
                        f"cell {spec} is in both {cells[cell]!r} and {name!r}",
                        detail={"cell": spec, "segments": [cells[cell], name]},
                    )
                cells[cell] = name
        return cls(cells)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "r_score": [k[0] for k in self.cells],
                "fm_score": [k[1] for k in self.cells],
                "segment": list(self.cells.values()),
            },
            schema={"r_score": pl.Int8, "fm_score": pl.Int8, "segment": pl.String},
        )


DEFAULT_SEGMENT_MAP = SegmentMap.from_grid(
    {
        5: [
            "New Customers",
            "Potential Loyalists",
            "Potential Loyalists",
            "Champions",
            "Champions",
        ],
        4: [
            "Promising",
            "Potential Loyalists",
            "Potential Loyalists",
            "Loyal Customers",
            "Champions",
        ],
        3: [
            "About to Sleep",
            "About to Sleep",
            "Need Attention",
            "Loyal Customers",
            "Loyal Customers",
        ],
        2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
        1: ["Lost", "Lost", "Hibernating", "At Risk", "Can't Lose Them"],
    }
)


def _quintile(expr: pl.Expr, *, descending: bool = False) -> pl.Expr:
    rank = expr.rank("min", descending=descending)
    return (1 + (5 * (rank - 1)) // pl.len()).cast(pl.Int8)


def rfm_table(
    orders: FrameLike,
    at: date,
    *,
    segment_map: SegmentMap = DEFAULT_SEGMENT_MAP,
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """Recency (days), frequency (orders), monetary (total spend), scores and segment.

    Returns
    -------
    polars.DataFrame
        ``customer_id, recency, frequency, monetary, r_score, f_score, m_score, fm_score,
        segment`` for every customer with an order on or before ``at``, sorted by customer.
    """
    lf = to_lazy(orders)
    schema = lf.collect_schema()
    missing = [c for c in (customer_col, date_col, amount_col) if c not in schema]
    if missing:
        raise InvalidInput(f"the order log has no column(s) {', '.join(missing)}")
    day = pl.col(date_col)
    if isinstance(schema[date_col], pl.Datetime):
        day = day.dt.date()
    at_lit = pl.lit(at, dtype=pl.Date)
    table = (
        lf.select(
            pl.col(customer_col).alias("customer_id"),
            day.alias("day"),
            pl.col(amount_col).cast(pl.Float64).alias("amount"),
        )
        .filter(pl.col("day") <= at_lit)
        .group_by("customer_id")
        .agg(
            recency=(at_lit - pl.col("day").max()).dt.total_days(),
            frequency=pl.len().cast(pl.Int64),
            monetary=pl.col("amount").sum(),
        )
        .with_columns(
            r_score=_quintile(pl.col("recency"), descending=True),
            f_score=_quintile(pl.col("frequency")),
            m_score=_quintile(pl.col("monetary")),
        )
        .with_columns(fm_score=((pl.col("f_score") + pl.col("m_score") + 1) // 2).cast(pl.Int8))
        .join(segment_map.frame().lazy(), on=["r_score", "fm_score"], how="left")
        .sort("customer_id")
    )
    return table.collect()


def segment_counts(table: pl.DataFrame) -> pl.DataFrame:
    """Customers and revenue per segment, largest first."""
    return (
        table.group_by("segment")
        .agg(customers=pl.len(), revenue=pl.col("monetary").sum())
        .sort(["customers", "segment"], descending=[True, False])
    )


def segment_migration(
    orders: FrameLike,
    start: date,
    end: date,
    *,
    segment_map: SegmentMap = DEFAULT_SEGMENT_MAP,
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """How customers moved between segments from ``start`` to ``end``.

    Returns a long frame ``from_segment, to_segment, customers``. Customers first seen after
    ``start`` come from ``"(not yet a customer)"``. Scores are quintiles at each date, so a
    customer can move because others changed: that is what relative scores mean.
    """
    if end <= start:
        raise InvalidInput("end must be after start")
    tables = [
        rfm_table(
            orders,
            at,
            segment_map=segment_map,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
        )
        for at in (start, end)
    ]
    before = tables[0].select("customer_id", from_segment="segment")
    after = tables[1].select("customer_id", to_segment="segment")
    return (
        after.join(before, on="customer_id", how="left")
        .with_columns(pl.col("from_segment").fill_null(NOT_YET_CUSTOMER))
        .group_by("from_segment", "to_segment")
        .agg(customers=pl.len())
        .sort("from_segment", "to_segment")
    )
