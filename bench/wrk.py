"""Run wrk (Debian package `wrk`) with one of the bench Lua scripts and read its figures.

The scripts end with a `done` hook that prints one `RESULT key=value ...` line; `rate` paces
the run open-loop through bench/pace.lua (requests per second over all threads).

wrk corrects its latency histogram for coordinated omission before `done` sees it: every
response slower than the run's mean interval per connection adds synthetic samples down to
that interval. At full speed a single stall of a second therefore fills many samples of the
tail (a p99 of hundreds of ms can be a handful of slow requests); `max` is not corrected.
Paced runs are not affected while latencies stay below their interval per connection.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

PACE = Path(__file__).parent / "pace.lua"
AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")


def machine() -> str:
    """The machine line of a report. The kernel's autogroup setting is in it because it
    decides the tail when the server, wrk and PostgreSQL saturate the cores together (see
    docs/benchmarks.md, till lookup)."""
    autogroup = AUTOGROUP.read_text().strip() if AUTOGROUP.exists() else "n/a"
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Linux {platform.release()}, sched_autogroup_enabled={autogroup}"
    )


def run(
    base: str,
    script: Path,
    env: dict[str, str],
    *,
    connections: int,
    seconds: int,
    rate: float | None = None,
    timeout_s: int = 10,
) -> dict[str, float]:
    """wrk's figures for one run: requests, duration_s, errors and latency percentiles (ms),
    plus `requests_per_s`, the rate actually achieved."""
    threads = min(2, connections)
    pacing = {"RATE_PER_THREAD": str(rate / threads)} if rate else {}
    out = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"),
            *("--timeout", f"{timeout_s}s", "-s", str(script), base),
        ],
        env={**os.environ, **env, **pacing, "PACE_LUA": str(PACE)},
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"RESULT (.*)", out.stdout)
    if out.returncode != 0 or match is None:
        raise RuntimeError(out.stdout + out.stderr)
    figures = {k: float(v) for k, v in (p.split("=") for p in match.group(1).split())}
    figures["requests_per_s"] = figures["requests"] / figures["duration_s"]
    return figures
