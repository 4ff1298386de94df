"""User errors in how maitred is started print what is wrong and where, and exit 2: a bad
configuration file, an invalid setting, an unreachable database — for every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from maitred import __version__
from tests.apply.documents import DOCUMENT, ENV
from tests.cli.support import maitred

SHORT_KEY = DOCUMENT.replace('api_key = "${ACME_RMS_KEY}"', 'api_key = "too-short"')
UNSET_VAR = DOCUMENT  # without ACME_RMS_KEY in the environment
BAD_SYNTAX = DOCUMENT.replace('kind = "rms"', 'kind = "rms')
UNKNOWN_KEY = DOCUMENT.replace('kind = "rms"', 'kind = "rms"\ncolour = "red"')

# A command of each kind, its arguments; "FILE" stands for a valid apply file.
COMMANDS = [
    ["serve"],
    ["worker"],
    ["db", "upgrade"],
    ["apply", "FILE"],
    ["partners", "list"],
    ["venues", "show", "v1"],
    ["tables", "show", "v1"],
    ["orders", "list", "v1"],
    ["deliveries", "list"],
]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MAITRED_DATABASE_URL": f"sqlite:///{tmp_path / 'maitred.db'}",
        "MAITRED_DATA_DIR": str(tmp_path),
        **extra,
    }


def _refused(result_stderr: str, code: int) -> None:
    assert code == 2, result_stderr
    assert "Traceback" not in result_stderr


@pytest.mark.parametrize(
    ("text", "without", "expected"),
    [
        (UNSET_VAR, "ACME_RMS_KEY", ":6: partners[0].api_key: environment variable ACME_RMS_KEY"),
        (SHORT_KEY, "", ":6: partners[0].api_key: String should have at least 16 characters"),
        (BAD_SYNTAX, "", ":4: TOML syntax error"),
        (UNKNOWN_KEY, "", ":5: partners[0].colour: unknown key"),
    ],
    ids=["unset-variable", "short-key", "toml-syntax", "unknown-key"],
)
def test_serve_with_a_bad_config_file_exits_2_naming_line_and_field(
    tmp_path: Path, text: str, without: str, expected: str
) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(text)
    env = _env(tmp_path, **{k: v for k, v in ENV.items() if k != without})
    result = maitred("serve", "--config", str(path), env=env)
    _refused(result.stderr, result.returncode)
    assert f"{path}{expected}" in result.stderr
    assert not (tmp_path / "maitred.db").exists()  # refused before anything was created


def test_serve_with_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = maitred("serve", "--config", str(tmp_path / "nowhere.toml"), env=_env(tmp_path))
    _refused(result.stderr, result.returncode)
    assert "nowhere.toml" in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_an_invalid_setting_is_named_with_its_rule_by_every_command(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "partners.toml").write_text(DOCUMENT)
    args = [str(tmp_path / "partners.toml") if a == "FILE" else a for a in command]
    env = _env(tmp_path, MAITRED_ORDER_RETENTION_DAYS="30", MAITRED_ADMIN_TOKEN="short-token")
    result = maitred(*args, env=env)
    _refused(result.stderr, result.returncode)
    assert "MAITRED_ORDER_RETENTION_DAYS=30: must be at least 45 days" in result.stderr
    # The admin token is named with its rule (the partner keys' minimum), never shown.
    assert "MAITRED_ADMIN_TOKEN: String should have at least 16 characters" in result.stderr
    assert "short-token" not in result.stderr
    assert not (tmp_path / "maitred.db").exists()


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["partners", "list"]])
def test_an_unreachable_database_is_named_with_its_password_hidden(
    tmp_path: Path, command: list[str]
) -> None:
    url = "postgresql://maitred:pw-very-secret@127.0.0.1:1/maitred"
    result = maitred(*command, env={"MAITRED_DATABASE_URL": url})
    _refused(result.stderr, result.returncode)
    assert "postgresql+psycopg://maitred:***@127.0.0.1:1/maitred" in result.stderr
    assert "pw-very-secret" not in result.stdout + result.stderr


def test_version_flag_prints_the_version() -> None:
    result = maitred("--version")
    assert (result.returncode, result.stdout.strip()) == (0, __version__)
