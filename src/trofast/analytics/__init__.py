"""Customer analytics: pure numerics over columnar order logs, no database code.

Public API::

    summarize, calibration_holdout_split        order log -> frequency / recency / T / monetary
    BetaGeoModel, ParetoNBDModel                 repeat purchasing (BG/NBD, Pareto/NBD)
    GammaGammaModel                              spend per order
    customer_lifetime_value, clv_interval,
    predict_customers, ClvSettings               per-customer predictions and CLV
    rfm_table, segment_counts, segment_migration,
    SegmentMap, DEFAULT_SEGMENT_MAP              RFM scores and segments
    cohort_table, repeat_metrics                 cohorts and repeat-purchase measures
    trofast.analytics.kpis                       programme KPIs
    trofast.analytics.errors                     AnalyticsError and its subclasses
"""

from trofast.analytics.bgnbd import BetaGeoModel
from trofast.analytics.clv import (
    ClvSettings,
    clv_interval,
    customer_lifetime_value,
    predict_customers,
)
from trofast.analytics.cohorts import cohort_table, repeat_metrics
from trofast.analytics.gammagamma import GammaGammaModel
from trofast.analytics.paretonbd import ParetoNBDModel
from trofast.analytics.rfm import (
    DEFAULT_SEGMENT_MAP,
    SegmentMap,
    rfm_table,
    segment_counts,
    segment_migration,
)
from trofast.analytics.summary import calibration_holdout_split, summarize

__all__ = [
    "DEFAULT_SEGMENT_MAP",
    "BetaGeoModel",
    "ClvSettings",
    "GammaGammaModel",
    "ParetoNBDModel",
    "SegmentMap",
    "calibration_holdout_split",
    "clv_interval",
    "cohort_table",
    "customer_lifetime_value",
    "predict_customers",
    "repeat_metrics",
    "rfm_table",
    "segment_counts",
    "segment_migration",
    "summarize",
]
