"""Run wrk (Debian package `wrk`) with one of the bench Lua scripts and read its figures.

The scripts end with a `done` hook that prints one `RESULT key=value ...` line; `rate` paces
the run open-loop through bench/pace.lua (requests per second over all threads).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

PACE = Path(__file__).parent / "pace.lua"


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
