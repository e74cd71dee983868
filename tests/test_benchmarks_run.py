"""The benchmarks still run: each one, at a tiny size, to its end.

Benchmarks are not part of the suite (they measure, and timing never fails a test), so a
change to the conversation could break their simulated attendees without anyone noticing
until the next measurement (it happened: a press answered in place made one hang). This runs
each in a child process with the smallest arguments that still go through its whole path,
and checks that it finished and printed its figures. The figures themselves are not checked.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import SEED
from tests.e2e.cli_process import REPO

NEEDS_SEED = pytest.mark.skipif(
    not SEED.exists(), reason=f"seed document not found at {SEED} (CI has ../shared/seed/)"
)


def run(module: str, *args: str, expect: str, needs_seed: bool = False) -> Any:
    """One benchmark run: its module, tiny arguments, a line its report must contain."""
    return pytest.param(module, list(args), expect, id=module, marks=[NEEDS_SEED] * needs_seed)


RUNS = [
    run("calls", expect="whole testimonial"),
    run(
        "intake",
        *("--attendees", "10", "--concurrency", "5", "--rounds", "1", "--paced", "5"),
        *("--think", "0.01"),
        expect="were found in the file afterwards",
    ),
    run(
        "publishing",
        "--approvals",
        "10",
        "--arrivals",
        "5",
        "--window",
        "0.5",
        expect="authors told",
    ),
    run(
        "growth",
        *("--small", "100", "--large", "500", "--pending", "10", "--export", "50"),
        expect="export itself",
    ),
    # Its attendees send the seed book's entries (their real lengths).
    run(
        "pipe",
        *("--attendees", "4", "--minutes", "0.1", "--scale", "60"),
        expect="review / group",
        needs_seed=True,
    ),
    # The install is borrowed (this .venv): the clone, setup, check, run and one approval.
    run("clone_to_bot", "--quick", expect="Clone to a working bot"),
    run(
        "webhook",
        "--attendees",
        "25",
        "--concurrency",
        "5",
        "--rounds",
        "1",
        expect="against the echo",
    ),
]


@pytest.mark.parametrize(("module", "args", "expected"), RUNS)
def test_benchmark_runs_to_its_end(module: str, args: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"tests.bench.{module}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-3000:]
    assert expected in report, report[-3000:]
