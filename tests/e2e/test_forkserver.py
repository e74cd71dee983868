"""The fork server's children behave as ``python -m bot`` started afresh: the same output and
exit code, their own process group, the test's umask and environment, and ``kill -9``."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.e2e import forkserver
from tests.e2e.cli_process import CliProcess, cli_env, fake_telegram


async def _both(tmp_path: Path, *args: str, **settings: str) -> list[tuple[int, str, str]]:
    """Run the same command forked and afresh; return (code, stdout, stderr) of each."""
    results = []
    for fresh in (False, True):
        workdir = tmp_path / ("fresh" if fresh else "forked")
        workdir.mkdir(parents=True)
        env = cli_env(None, workdir / "livredor.db", **settings)
        process = CliProcess(workdir, fresh=fresh)
        try:
            await process.start(*args, env=env)
            assert isinstance(process.proc, forkserver.Forked) is (not fresh)
            code = await process.wait(60)
            results.append((code, process.stdout, process.stderr.replace(str(workdir), "WD")))
        finally:
            await process.kill()
    return results


async def test_a_forked_child_says_and_exits_as_a_fresh_one(tmp_path: Path) -> None:
    assert forkserver.enabled()
    forked, fresh = await _both(tmp_path, "--help")
    assert forked == fresh
    assert forked[0] == 0 and forked[1].startswith("usage: livredor"), forked
    # A settings error: the same sentence and exit code 2.
    forked, fresh = await _both(tmp_path / "bad", "run", messages_per_second="many")
    assert forked == fresh and forked[0] == 2, forked


async def test_a_forked_child_is_a_process_of_its_own(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        async with fake_telegram() as (fake, server):
            env = cli_env(server, tmp_path / "livredor.db", event_name="Lille 2012")
            process = CliProcess(tmp_path, "run")
            try:
                await process.start("run", env=env)
                await fake.wait_for(lambda: fake.calls("getUpdates"), 30, what="polling")
                assert isinstance(process.proc, forkserver.Forked)
                assert os.getpgid(process.pid) == process.pid  # its own session and group
                assert "Umask:\t0027" in _proc(process.pid, "status")
                assert os.readlink(f"/proc/{process.pid}/cwd") == str(tmp_path)
                assert (tmp_path / "livredor.db").stat().st_mode & 0o777 == 0o600
                process.signal(signal.SIGKILL)
                assert await process.wait(10) == -signal.SIGKILL
            finally:
                await process.kill()
    finally:
        os.umask(previous)


@pytest.mark.parametrize("fresh", [False, True])
async def test_a_test_that_stops_waiting_leaves_no_child(tmp_path: Path, fresh: bool) -> None:
    async with fake_telegram() as (fake, server):
        process = CliProcess(tmp_path, "run", fresh=fresh)
        try:
            await process.start("run", env=cli_env(server, tmp_path / "livredor.db"))
            await fake.wait_for(lambda: fake.calls("getUpdates"), 30, what="polling")
            with pytest.raises(TimeoutError):
                await process.wait(0.01)
        finally:
            await process.kill()
        assert process.proc is not None and process.proc.returncode == -signal.SIGKILL
        assert not _exists(f"/proc/{process.pid}")  # killed and reaped


def _proc(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_text()


def _exists(path: str) -> bool:
    return os.path.exists(path)
