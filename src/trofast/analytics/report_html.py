"""A self-contained HTML report with charts (plotly, its JavaScript inlined: no CDN, works
offline and in an e-mail attachment)."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]
import polars as pl

from trofast.analytics.report import AnalysisReport, clv_values, p_alive_by_recency
from trofast.analytics.rfm import DEFAULT_SEGMENT_MAP

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f3f3f3}td.n{text-align:right}.problem{color:#a40000}
"""


def _rfm_grid(report: AnalysisReport) -> go.Figure:
    counts = report.rfm.group_by("r_score", "fm_score").agg(n=pl.len())
    z = np.zeros((5, 5))
    for r, fm, n in counts.iter_rows():
        z[r - 1, fm - 1] = n
    labels = [
        [f"{DEFAULT_SEGMENT_MAP.cells[(r, fm)]}<br>{int(z[r - 1, fm - 1])}" for fm in range(1, 6)]
        for r in range(1, 6)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[1, 2, 3, 4, 5], y=[1, 2, 3, 4, 5], text=labels, texttemplate="%{text}",
            colorscale="Blues", colorbar={"title": "customers"},
        )
    )  # fmt: skip
    fig.update_layout(title="RFM grid: customers per recency score and frequency-monetary score",
                      xaxis_title="FM score", yaxis_title="R score")  # fmt: skip
    return fig


def _cohort_heatmap(report: AnalysisReport) -> go.Figure:
    table = report.cohorts.pivot(on="period", index="cohort", values="retention", sort_columns=True)
    periods = [c for c in table.columns if c != "cohort"]
    periods.sort(key=int)
    z = table.select(periods).to_numpy() if periods else np.zeros((0, 0))
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[int(p) for p in periods], y=[str(c) for c in table["cohort"]],
            colorscale="Greens", zmin=0, zmax=1, colorbar={"title": "retention"},
        )
    )  # fmt: skip
    fig.update_layout(title="Monthly cohorts: share of customers buying N months after joining",
                      xaxis_title="months since first order", yaxis_title="cohort",
                      yaxis={"autorange": "reversed"})  # fmt: skip
    return fig


def _clv_histogram(report: AnalysisReport) -> go.Figure:
    values = clv_values(report)
    fig = go.Figure(go.Histogram(x=values, nbinsx=60))
    fig.update_layout(title="Predicted 12-month CLV per customer", xaxis_title="CLV",
                      yaxis_title="customers", yaxis_type="log")  # fmt: skip
    return fig


def _p_alive_scatter(report: AnalysisReport) -> go.Figure:
    points = p_alive_by_recency(report)
    fig = go.Figure(
        go.Scattergl(
            x=points["days_since_last"], y=points["p_alive"], mode="markers",
            marker={"size": 4, "color": points["frequency"], "colorscale": "Viridis",
                    "colorbar": {"title": "repeat<br>purchases"}, "opacity": 0.6},
        )
    )  # fmt: skip
    fig.update_layout(title="P(active) against days since the last purchase",
                      xaxis_title="days since last purchase", yaxis_title="P(active)")  # fmt: skip
    return fig


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = []
    for row in rows:
        cells = []
        for v in row.values():
            if isinstance(v, float):
                cells.append(f'<td class="n">{v:,.4g}</td>' if math.isfinite(v) else "<td>∞</td>")
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(report: AnalysisReport, title: str = "Trofast customer analysis") -> str:
    """The report as one HTML document with inline plotly charts."""
    charts: list[go.Figure] = [_rfm_grid(report), _cohort_heatmap(report)]
    if report.predictions is not None:
        if "clv" in report.predictions.columns:
            charts.append(_clv_histogram(report))
        charts.append(_p_alive_scatter(report))
    blocks = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(charts)
    ]
    data = report.to_dict()
    kpis = [{"measure": k, "value": v} for k, v in data["kpis"].items()]
    params = []
    for name, model in data["models"].items():
        for p, value in model["params"].items():
            iv = model["intervals_95"][p]
            params.append({"model": name, "parameter": p, "estimate": value,
                           "95% lower": iv["lower"], "95% upper": iv["upper"] or math.inf,
                           "log-likelihood": model["log_likelihood"]})  # fmt: skip
    problems = "".join(f'<p class="problem">{html.escape(p)}</p>' for p in report.problems)
    clv = data.get("clv") or {}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Calibration end {report.calibration_end}, time unit {report.unit}; orders from
{report.first_order} to {report.last_order}.</p>{problems}
<h2>Key figures</h2>{_table(kpis)}
<h2>Segments</h2>{_table(data["segments"])}
<h2>Models</h2>{_table(params)}
<p>Total predicted 12-month CLV: {clv.get("total") or 0:,.0f}
(90% interval {clv.get("total_interval_90")}).</p>
<h2>Holdout check</h2>{_table([report.holdout] if report.holdout else [])}
<h2>Charts</h2>{"".join(blocks)}
</body></html>
"""
