"""Errors of the analytics API; the library's own (`trofast.analytics.errors`) are 422s.

NotFound (404)
├── AnalyticsNotRefreshed       analytics_not_refreshed: `trofast analytics refresh` never ran
└── CustomerMetricsNotFound     customer_metrics_not_found: no row for this customer in the
                                last refresh (unknown, or no counted order by its end date)
"""

from __future__ import annotations

from trofast.errors import NotFound


class AnalyticsNotRefreshed(NotFound):
    default_code = "analytics_not_refreshed"


class CustomerMetricsNotFound(NotFound):
    default_code = "customer_metrics_not_found"
