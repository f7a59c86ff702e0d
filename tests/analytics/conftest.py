"""Fixtures for the analytics tests: the CDNOW sample and models fitted on it once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tests.support.data import CDNOW
from trofast.analytics import BetaGeoModel, GammaGammaModel, ParetoNBDModel, summarize

CDNOW_SAMPLE = CDNOW / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)  # end of week 39
HOLDOUT_END = date(1998, 6, 30)  # 39 more weeks


def load_cdnow_sample(path: Path) -> pl.DataFrame:
    """``master_id sample_id YYYYMMDD cds dollars``, whitespace-separated, one row per order."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "customer_id": [int(r[0]) for r in rows],
            "timestamp": [r[2] for r in rows],
            "amount": [float(r[4]) for r in rows],
        }
    ).with_columns(pl.col("timestamp").str.to_date("%Y%m%d"))


@pytest.fixture(scope="session")
def cdnow_orders() -> pl.DataFrame:
    return load_cdnow_sample(CDNOW_SAMPLE)


@pytest.fixture(scope="session")
def cdnow(cdnow_orders: pl.DataFrame) -> pl.DataFrame:
    return summarize(
        cdnow_orders, calibration_end=CALIBRATION_END, observation_end=HOLDOUT_END, unit="week"
    )


@pytest.fixture(scope="session")
def bgnbd(cdnow: pl.DataFrame) -> BetaGeoModel:
    return BetaGeoModel(unit="week").fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="session")
def paretonbd(cdnow: pl.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel(unit="week").fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="session")
def gammagamma(cdnow: pl.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow["frequency"], cdnow["monetary_value"])
