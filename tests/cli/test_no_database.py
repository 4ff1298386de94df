"""Commands other than serve, worker, db upgrade and demo never create a database or a key:
run in the wrong directory, they say which database they looked for and how to point at the
right one. Every process says in one line what it runs against."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.support import maitred

READERS_AND_WRITERS = [
    ["partners", "list"],
    ["partners", "set", "acme", "--kind", "pos"],
    ["venues", "list"],
    ["venues", "set", "v1", "--timezone", "UTC"],
    ["tables", "show", "v1"],
    ["orders", "list", "v1"],
    ["orders", "reconcile"],
    ["deliveries", "list"],
    ["apply", "partners.toml"],
]


@pytest.mark.parametrize("command", READERS_AND_WRITERS, ids=lambda c: " ".join(c))
def test_a_command_in_an_empty_directory_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "partners.toml").write_text('[[partners]]\nid = "acme"\nkind = "pos"\n')
    result = maitred(*command, cwd=tmp_path)  # no MAITRED_ variable: the defaults
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"no maitred database at sqlite:///{tmp_path}/maitred.db" in result.stderr
    assert "MAITRED_DATABASE_URL" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partners.toml"]


def test_db_upgrade_creates_the_database_and_key_and_then_commands_find_them(
    tmp_path: Path,
) -> None:
    created = maitred("db", "upgrade", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "maitred.db",
        "maitred.key",
    ]
    listed = maitred("partners", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    # The one start-up line: database, admin API, loopback, key file.
    [start] = [line for line in listed.stderr.splitlines() if "starting" in line]
    for part in (
        f"database=sqlite:///{tmp_path}/maitred.db",
        "admin_api='closed (MAITRED_ADMIN_TOKEN unset)'",
        "loopback=refused",
        f"key={tmp_path}/maitred.key",
    ):
        assert part in start, start


def test_a_database_without_the_key_file_is_refused_not_given_a_new_key(tmp_path: Path) -> None:
    assert maitred("db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "maitred.key").unlink()
    result = maitred("partners", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert f"no secret key: MAITRED_SECRET_KEY is unset and {tmp_path}/maitred.key" in (
        result.stderr
    )
    assert not (tmp_path / "maitred.key").exists()


def test_a_database_without_the_schema_is_named(tmp_path: Path) -> None:
    (tmp_path / "other.db").write_bytes(b"")  # an empty SQLite file, not maitred's
    env = {"MAITRED_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    result = maitred("venues", "list", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert f"the database sqlite:///{tmp_path}/other.db has no maitred schema" in result.stderr
