"""Settings (``LIVREDOR_`` variables, ``.env``) and the CLI's handling of bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from pydantic import SecretStr

from config.settings import ENV_PREFIX, EXPECTED, Settings, SettingsError, load_settings
from tests.e2e import forkserver
from tests.e2e.cli_process import cli_env

REPO = Path(__file__).resolve().parents[1]
GOOD_TOKEN = "123456789:AAE_fake-token-FOR-tests_only"
# Malformed (a space, a "!"), and distinctive enough to be searched for in any output.
BAD_TOKEN = "987654:Zq9-LEAKED secret!tail"
TELEGRAM_VARIABLES = ("LIVREDOR_BOT_TOKEN", "LIVREDOR_ORGANISERS_CHAT_ID", "LIVREDOR_CHANNEL_ID")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LIVREDOR_ variable from the outside, and no stray .env: work in an empty dir."""
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def only_error(exc: SettingsError) -> str:
    assert len(exc.lines) == 1, exc.lines
    return exc.lines[0]


# -- defaults, prefix, .env -------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.organisers_chat_id is None
    assert settings.channel_id is None
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.api_file_url == "https://api.telegram.org/file/bot"
    assert settings.database == Path("livredor.db")
    assert settings.event_name == ""
    assert settings.event_hashtag is None
    assert settings.default_language == "en"
    assert settings.admin_ids == frozenset()
    assert settings.texts is None
    assert settings.quote_max_chars == 6000
    assert settings.max_pending == 3
    assert settings.group_messages_per_minute == 20
    assert settings.group_rate_period_seconds == 60.0
    assert settings.messages_per_second == 30
    assert settings.webhook_url is None
    assert settings.webhook_listen == "127.0.0.1"  # plain HTTP: this machine only
    assert settings.webhook_port == 8443
    assert settings.webhook_secret is None
    assert settings.log_level == "INFO"


def test_every_setting_has_an_explanation() -> None:
    assert set(EXPECTED) == set(Settings.model_fields)


def test_environment_with_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    texts = tmp_path / "texts.toml"
    texts.write_text("", encoding="utf-8")
    values = {
        "BOT_TOKEN": GOOD_TOKEN,
        "ORGANISERS_CHAT_ID": "-1001234567890",
        "CHANNEL_ID": "-1009876543210",
        "API_BASE_URL": "http://127.0.0.1:8081/bot",
        "DATABASE": str(tmp_path / "event.db"),
        "EVENT_NAME": "ROUMICS 2012 « Lille »",
        "EVENT_HASHTAG": "#Roumics2012",
        "DEFAULT_LANGUAGE": "fr",
        "TEXTS": str(texts),
        "QUOTE_MAX_CHARS": "4330",
        "MAX_PENDING": "5",
        "GROUP_MESSAGES_PER_MINUTE": "7",
        "GROUP_RATE_PERIOD_SECONDS": "0.5",
        "MESSAGES_PER_SECOND": "9",
        "GLOBAL_RATE_PERIOD_SECONDS": "0.1",
        "PRIVATE_MESSAGES_PER_SECOND": "1",
        "PRIVATE_RATE_PERIOD_SECONDS": "0.25",
        "WEBHOOK_URL": "https://bot.example.org/livredor",
        "WEBHOOK_LISTEN": "0.0.0.0",
        "WEBHOOK_PORT": "8080",
        "WEBHOOK_SECRET": "s" * 40,
        "LOG_LEVEL": "debug",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"LIVREDOR_{name}", value)
    settings = load_settings()
    assert settings.token == GOOD_TOKEN
    assert settings.organisers_chat_id == -1001234567890
    assert settings.channel_id == -1009876543210
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    # getFile's files, on the same server (a self-hosted Bot API serves them there too).
    assert settings.api_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.database == tmp_path / "event.db"
    assert settings.event_name == "ROUMICS 2012 « Lille »"
    assert settings.event_hashtag == "Roumics2012"
    assert settings.default_language == "fr"
    assert settings.texts == texts
    assert (settings.quote_max_chars, settings.max_pending) == (4330, 5)
    assert settings.group_messages_per_minute == 7
    assert settings.group_rate_period_seconds == 0.5
    assert settings.messages_per_second == 9
    assert settings.global_rate_period_seconds == 0.1
    assert (settings.private_messages_per_second, settings.private_rate_period_seconds) == (
        1,
        0.25,
    )
    assert settings.webhook_url == "https://bot.example.org/livredor"
    assert (settings.webhook_listen, settings.webhook_port) == ("0.0.0.0", 8080)
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "s" * 40
    assert settings.log_level == "DEBUG"
    assert settings.missing_for_telegram() == []


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("MAX_PENDING", "50")
    monkeypatch.setenv("CHANNEL_ID", "not a channel")
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.max_pending == 3
    assert settings.channel_id is None


def test_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n"
        f"LIVREDOR_BOT_TOKEN={GOOD_TOKEN}\n"
        "LIVREDOR_ORGANISERS_CHAT_ID=-100222\n"
        "LIVREDOR_CHANNEL_ID=@livredor_roumics\n"
        "LIVREDOR_EVENT_NAME='Journée « RouMiCS »'\n"
        "LIVREDOR_ADMIN_IDS=1, 2,3\n"
        "OTHER_APP_SETTING=whatever\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.token == GOOD_TOKEN
    assert settings.organisers_chat_id == -100222
    assert settings.channel_id == "@livredor_roumics"
    assert settings.event_name == "Journée « RouMiCS »"
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.missing_for_telegram() == []


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "LIVREDOR_MAX_PENDING=7\nLIVREDOR_EVENT_NAME=from file\n", encoding="utf-8"
    )
    monkeypatch.setenv("LIVREDOR_MAX_PENDING", "9")
    settings = load_settings()
    assert settings.max_pending == 9
    assert settings.event_name == "from file"


def test_dotenv_is_read_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".env").write_text("LIVREDOR_MAX_PENDING=8\n", encoding="utf-8")
    assert load_settings().max_pending == 3
    monkeypatch.chdir(elsewhere)
    assert load_settings().max_pending == 8


def test_malformed_value_in_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LIVREDOR_MAX_PENDING=lots\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert only_error(caught.value).startswith("LIVREDOR_MAX_PENDING ")


def test_overrides_are_validated_too() -> None:
    assert load_settings(max_pending=4).max_pending == 4
    with pytest.raises(SettingsError) as caught:
        load_settings(max_pending=0)
    assert only_error(caught.value).startswith("LIVREDOR_MAX_PENDING ")


# -- particular values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1, 2,3", frozenset({1, 2, 3})),
        ("111,222", frozenset({111, 222})),
        (" 42 ", frozenset({42})),
        ("5,5,6,", frozenset({5, 6})),
        ("", frozenset()),
    ],
)
def test_admin_ids(monkeypatch: pytest.MonkeyPatch, raw: str, expected: frozenset[int]) -> None:
    monkeypatch.setenv("LIVREDOR_ADMIN_IDS", raw)
    assert load_settings().admin_ids == expected


@pytest.mark.parametrize("raw", ["1,two,3", "[1, 2]", "1 2"])
def test_admin_ids_malformed(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("LIVREDOR_ADMIN_IDS", raw)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert only_error(caught.value).startswith("LIVREDOR_ADMIN_IDS is not valid")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("-1001234567890", -1001234567890),
        (" -42 ", -42),
        ("@livredor", "@livredor"),
        ("@Roumics_2012", "@Roumics_2012"),
        ("", None),
    ],
)
def test_channel_id(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int | str | None) -> None:
    monkeypatch.setenv("LIVREDOR_CHANNEL_ID", raw)
    value = load_settings().channel_id
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "raw",
    ["1001234567890", "livredor", "@ab", "@1channel", "@with space", "-12a", "https://t.me/x"],
)
def test_channel_id_malformed(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("LIVREDOR_CHANNEL_ID", raw)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert only_error(caught.value).startswith("LIVREDOR_CHANNEL_ID is not valid")


def test_token_is_trimmed_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVREDOR_BOT_TOKEN", f"  {GOOD_TOKEN} \n")
    settings = load_settings()
    assert isinstance(settings.bot_token, SecretStr)
    assert settings.token == GOOD_TOKEN


def test_token_never_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVREDOR_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("LIVREDOR_WEBHOOK_SECRET", "W" * 33)
    settings = load_settings()
    for text in (repr(settings), str(settings), settings.model_dump_json(), f"{settings!s}"):
        assert GOOD_TOKEN not in text
        assert "AAE_fake" not in text
        assert "W" * 33 not in text
    assert settings.token == GOOD_TOKEN


# -- malformed values: one line, naming the variable, never the value ------------------------

MALFORMED = [
    ("BOT_TOKEN", BAD_TOKEN),
    ("BOT_TOKEN", "no-colon-at-all"),
    ("ORGANISERS_CHAT_ID", "the organisers"),
    ("ORGANISERS_CHAT_ID", "1001234567890"),
    ("CHANNEL_ID", "#channel"),
    ("API_BASE_URL", "ftp://api.telegram.org/bot"),
    ("API_BASE_URL", "api.telegram.org"),
    ("EVENT_HASHTAG", "two words"),
    ("DEFAULT_LANGUAGE", "de"),
    ("ADMIN_IDS", "alice,bob"),
    ("TEXTS", "/no/such/texts.toml"),
    ("QUOTE_MAX_CHARS", "99"),
    ("QUOTE_MAX_CHARS", "many"),
    ("MAX_PENDING", "0"),
    ("MAX_PENDING", "101"),
    ("GROUP_MESSAGES_PER_MINUTE", "0"),
    ("GROUP_RATE_PERIOD_SECONDS", "0.01"),
    ("MESSAGES_PER_SECOND", "1001"),
    ("GLOBAL_RATE_PERIOD_SECONDS", "0"),
    ("PRIVATE_MESSAGES_PER_SECOND", "0"),
    ("PRIVATE_RATE_PERIOD_SECONDS", "61"),
    ("WEBHOOK_URL", "not a url"),
    ("WEBHOOK_PORT", "70000"),
    ("WEBHOOK_PORT", "https"),
    ("WEBHOOK_SECRET", "tooShortSecret"),
    ("WEBHOOK_SECRET", "has spaces in it but is long enough!!"),
    ("LOG_LEVEL", "LOUD"),
]


@pytest.mark.parametrize(("name", "raw"), MALFORMED, ids=[f"{n}={v}" for n, v in MALFORMED])
def test_malformed_value_gives_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str
) -> None:
    monkeypatch.setenv(f"LIVREDOR_{name}", raw)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    line = only_error(caught.value)
    assert line.startswith(f"LIVREDOR_{name} is not valid: expected ")
    assert EXPECTED[name.lower()] in line
    assert "\n" not in line
    assert str(caught.value) == line
    # Plain words, not pydantic's report.
    for noise in ("pydantic", "validation error", "input_value", "errors.pydantic.dev"):
        assert noise not in str(caught.value).lower()
    if raw not in EXPECTED[name.lower()]:  # "0" or "de" can be words of the explanation
        assert raw not in line


def test_several_malformed_values_give_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVREDOR_BOT_TOKEN", BAD_TOKEN)
    monkeypatch.setenv("LIVREDOR_MAX_PENDING", "-1")
    monkeypatch.setenv("LIVREDOR_CHANNEL_ID", "nope")
    monkeypatch.setenv("LIVREDOR_EVENT_NAME", "fine")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert sorted(line.split(" ")[0] for line in caught.value.lines) == [
        "LIVREDOR_BOT_TOKEN",
        "LIVREDOR_CHANNEL_ID",
        "LIVREDOR_MAX_PENDING",
    ]
    assert str(caught.value).count("\n") == 2


def test_malformed_token_value_never_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVREDOR_BOT_TOKEN", BAD_TOKEN)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    exc = caught.value
    formatted = "".join(traceback.format_exception(exc))
    fragments = (BAD_TOKEN, "Zq9-LEAKED", "secret!tail")
    for text in (*exc.lines, str(exc), repr(exc), formatted, str(exc.args)):
        for fragment in fragments:
            assert fragment not in text
    # The pydantic error it came from (kept as __context__) does not hold it either.
    context = exc.__context__
    if context is not None:
        for fragment in fragments:
            assert fragment not in str(context)
            assert fragment not in repr(context)


def test_malformed_token_in_dotenv_never_appears(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f'LIVREDOR_BOT_TOKEN="{BAD_TOKEN}"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert only_error(caught.value).startswith("LIVREDOR_BOT_TOKEN is not valid")
    assert "LEAKED" not in str(caught.value) and "LEAKED" not in repr(caught.value)


@pytest.mark.parametrize("name", ["BOT_TOKEN", "ORGANISERS_CHAT_ID", "WEBHOOK_SECRET", "TEXTS"])
def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(f"LIVREDOR_{name}", "")
    settings = load_settings()
    assert getattr(settings, name.lower()) is None


def test_env_example_as_is_loads_and_lists_what_is_missing(tmp_path: Path) -> None:
    example = REPO / "deploy" / "env.example"
    if not example.is_file():
        pytest.skip("no deploy/env.example")
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings()
    missing = settings.missing_for_telegram()
    assert [line.split(" ")[0] for line in missing] == list(TELEGRAM_VARIABLES)


# -- missing_for_telegram ---------------------------------------------------------------------


def test_missing_for_telegram_names_each_missing_variable() -> None:
    missing = load_settings().missing_for_telegram()
    assert [line.split(" ")[0] for line in missing] == list(TELEGRAM_VARIABLES)
    for line in missing:
        assert " is not set: expected " in line
        assert "\n" not in line


@pytest.mark.parametrize("absent", range(len(TELEGRAM_VARIABLES)))
def test_missing_for_telegram_one_at_a_time(monkeypatch: pytest.MonkeyPatch, absent: int) -> None:
    values = dict(zip(TELEGRAM_VARIABLES, (GOOD_TOKEN, "-100123", "@livredor"), strict=True))
    for index, (name, value) in enumerate(values.items()):
        if index != absent:
            monkeypatch.setenv(name, value)
    missing = load_settings().missing_for_telegram()
    assert len(missing) == 1
    assert missing[0].startswith(f"{TELEGRAM_VARIABLES[absent]} is not set")
    assert GOOD_TOKEN not in missing[0]


def test_token_property_is_for_configured_settings_only() -> None:
    with pytest.raises(AssertionError):
        _ = load_settings().token


# -- the CLI ----------------------------------------------------------------------------------


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment of the tests' CLI processes (``cli_env``: the same fork server) with
    no LIVREDOR_ setting at all, plus ``extra``."""
    env = cli_env(None, home / "livredor.db")
    env = {k: v for k, v in env.items() if not k.upper().startswith(ENV_PREFIX)}
    env.update(extra)
    return env


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return forkserver.run_sync(list(args), env=clean_environment(cwd, **env), cwd=cwd)


def test_cli_run_without_configuration(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(" ")[0] for line in lines] == list(TELEGRAM_VARIABLES)
    assert len([line for line in lines if "LIVREDOR_BOT_TOKEN" in line]) == 1
    assert all(" is not set: " in line for line in lines)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_run_without_token_only(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "run", LIVREDOR_ORGANISERS_CHAT_ID="-100123", LIVREDOR_CHANNEL_ID="@livredor"
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("LIVREDOR_BOT_TOKEN ")
    ]
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_cli_run_with_a_malformed_token(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "run",
        LIVREDOR_BOT_TOKEN=BAD_TOKEN,
        LIVREDOR_ORGANISERS_CHAT_ID="-100123",
        LIVREDOR_CHANNEL_ID="@livredor",
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("LIVREDOR_BOT_TOKEN is not valid")
    for fragment in (BAD_TOKEN, "Zq9-LEAKED", "secret!tail"):
        assert fragment not in output
    assert "Traceback" not in output


def test_cli_malformed_token_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"LIVREDOR_BOT_TOKEN={BAD_TOKEN}\n", encoding="utf-8")
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2
    assert "LIVREDOR_BOT_TOKEN is not valid" in result.stderr
    assert "LEAKED" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_cli_run_with_env_example_as_dotenv(tmp_path: Path) -> None:
    example = REPO / "deploy" / "env.example"
    if not example.is_file():
        pytest.skip("no deploy/env.example")
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(" ")[0] for line in lines] == list(TELEGRAM_VARIABLES)
    assert all(" is not set: " in line for line in lines)


def test_cli_check_without_configuration(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "check")
    assert result.returncode == 2
    assert [line.split(" ")[0] for line in result.stderr.splitlines()] == list(TELEGRAM_VARIABLES)
    assert "Traceback" not in result.stderr


SUBCOMMANDS = ("run", "export", "import", "check", "backup", "demo")


def test_cli_help_lists_the_subcommands(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "livredor" in result.stdout
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")}
    assert set(SUBCOMMANDS) <= listed


def test_livredor_console_script_help(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "livredor"
    if not script.exists():
        pytest.skip("the livredor console script is not installed next to this interpreter")
    result = subprocess.run(
        [str(script), "--help"],
        env=clean_environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in SUBCOMMANDS:
        assert f"    {command} " in result.stdout


def test_cli_without_a_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path)
    assert result.returncode == 2
    assert "usage: livredor" in result.stderr
    assert "Traceback" not in result.stderr
