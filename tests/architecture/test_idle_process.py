"""What a server on SQLite keeps out of its memory, and that it behaves the same without it.

`maitred serve` migrates in a forked child and loads neither the migration tool, nor the
PostgreSQL driver, nor the cryptography package until something needs them
(docs/decisions/0037). Each is checked in a fresh interpreter, the way the server starts.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from maitred.db.migrate import heads, upgrade_apart
from maitred.security import SecretBox, check_fernet_key, new_fernet_key

NOT_LOADED = ("alembic", "mako", "psycopg", "cryptography")

SERVE = """
import json, sys
from fastapi.testclient import TestClient
from maitred import startup
from maitred.cli import app  # every command the server's command line registers
from maitred.config import get_settings
from maitred.api.asgi import worker_app

startup.prepare(get_settings(), "serve")
with TestClient(worker_app()) as client:
    assert client.get("/healthz").status_code == 200
print(json.dumps(sorted(name for name in %r if name in sys.modules)))
"""


def test_a_serving_process_on_sqlite_loads_no_migration_tool_driver_or_cipher(
    tmp_path: Path,
) -> None:
    database = tmp_path / "idle.db"
    env = {
        **os.environ,
        "MAITRED_DATABASE_URL": f"sqlite:///{database}",
        "MAITRED_DATA_DIR": str(tmp_path),
        "MAITRED_SECRET_KEY": new_fernet_key(),
        "MAITRED_LOG_LEVEL": "warning",
    }
    run = subprocess.run(
        [sys.executable, "-c", SERVE % (NOT_LOADED,)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
    # ... and the child did migrate the new database to the newest revision.
    with sqlite3.connect(database) as connection:
        at = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    assert at == heads(f"sqlite:///{database}")


def test_a_migration_failing_in_the_child_is_raised_in_the_server(tmp_path: Path) -> None:
    database = tmp_path / "ahead.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    with pytest.raises(Exception, match="9999_from_the_future"):
        upgrade_apart(f"sqlite:///{database}")


KEYS = [
    Fernet.generate_key().decode(),
    new_fernet_key(),
    new_fernet_key().rstrip("="),  # padding missing
    new_fernet_key()[:-2],  # a byte short
    base64.urlsafe_b64encode(b"x" * 31).decode(),
    base64.urlsafe_b64encode(b"x" * 33).decode(),
    base64.b64encode(b"\xfb" * 32).decode(),  # standard, not url-safe, alphabet
    "not a key",
    "",
    "é" * 44,
]


@pytest.mark.parametrize("key", KEYS)
def test_a_key_is_accepted_exactly_when_fernet_accepts_it(key: str) -> None:
    try:
        Fernet(key.encode())
    except ValueError:
        fernet_accepts = False
    else:
        fernet_accepts = True
    try:
        check_fernet_key(key)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == fernet_accepts


def test_the_lazily_built_cipher_reads_what_fernet_wrote_and_back() -> None:
    key = new_fernet_key()
    box = SecretBox(key)
    assert Fernet(key.encode()).decrypt(box.encrypt("s3cret") or "").decode() == "s3cret"
    assert box.decrypt(Fernet(key.encode()).encrypt(b"other").decode()) == "other"
    with pytest.raises(RuntimeError, match="cannot be decrypted"):
        SecretBox(new_fernet_key()).decrypt(box.encrypt("s3cret"))
    with pytest.raises(ValueError, match="32 url-safe base64"):
        SecretBox("short")
