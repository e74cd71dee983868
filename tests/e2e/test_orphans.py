"""A test or benchmark killed outright (SIGKILL: no ``finally`` runs) leaves no child behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# The parent: starts a long-lived child the way CliProcess does, prints its pid, then waits.
PARENT = """
import subprocess, sys, time
from tests.e2e.cli_process import die_with_parent
child = subprocess.Popen(["sleep", "600"], start_new_session=True, preexec_fn=die_with_parent())
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_child_dies_with_its_killed_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10.0
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)  # polling for the death, not waiting a fixed time
        assert not alive(child), "the child outlived its SIGKILLed parent"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
