"""The contract a partner speaks: declared by the admin API, an apply file and the CLI, shown by
reads, `mozrest` when left out, and refused naming `contract` when unknown or not serving the
partner's kind (docs/decisions/0020)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.partners import contracts
from maitred.partners.contracts import Contract
from tests.apply.documents import DOCUMENT, ENV, raw_rows, write
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
POS = {"kind": "pos", "base_url": "http://127.0.0.1:9"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app on the test database."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def channels() -> Iterator[str]:
    """A contract serving channel partners only, installed for the test."""
    contracts.install(Contract(name="orders-only", kinds=frozenset({"channel"})))
    try:
        yield "orders-only"
    finally:
        contracts.uninstall("orders-only")


def test_a_partner_declared_without_a_contract_speaks_mozrest(client: TestClient) -> None:
    created = client.put("/admin/partners/till", json=POS, headers=ADMIN)

    assert created.status_code == 201
    assert client.get("/admin/partners/till", headers=ADMIN).json()["contract"] == "mozrest"


def test_an_unknown_contract_is_400_naming_it_and_the_known_ones(client: TestClient) -> None:
    response = client.put("/admin/partners/till", json={**POS, "contract": "nope"}, headers=ADMIN)

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert list(details) == ["contract"]
    assert "mozrest" in str(details["contract"])
    assert client.get("/admin/partners/till", headers=ADMIN).status_code == 404


def test_a_contract_not_serving_the_kind_is_400(client: TestClient, channels: str) -> None:
    refused = client.put("/admin/partners/till", json={**POS, "contract": channels}, headers=ADMIN)
    channel = {"kind": "channel", "contract": channels}
    accepted = client.put("/admin/partners/web-shop", json=channel, headers=ADMIN)

    assert refused.status_code == 400
    assert "serves channel partners, not pos" in str(refused.json()["error"]["details"])
    assert accepted.status_code == 201
    assert client.get("/admin/partners/web-shop", headers=ADMIN).json()["contract"] == channels


def _maitred(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **ENV,
        "MAITRED_DATABASE_URL": settings.database_url,
        "MAITRED_DATA_DIR": str(settings.data_dir),
        "MAITRED_SECRET_KEY": settings.secret_key or "",
        "MAITRED_ALLOW_LOOPBACK": "true",
    }
    command = [sys.executable, "-m", "maitred", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_an_apply_file_names_the_contract_and_an_unknown_one_is_refused_at_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    named = DOCUMENT.replace('kind = "pos"', 'kind = "pos"\ncontract = "mozrest"')
    applied = _maitred(settings, "apply", str(write(tmp_path, named)))
    unknown = DOCUMENT.replace('kind = "pos"', 'kind = "pos"\ncontract = "nope"')
    path = write(tmp_path, unknown.replace("acme-pos", "other-pos"))
    refused = _maitred(settings, "apply", str(path))

    assert applied.returncode == 0, applied.stderr
    assert refused.returncode == 2
    assert f"{path}:14: partners[1].contract: unknown contract 'nope'" in refused.stderr
    assert sorted(row[0] for row in raw_rows(settings.database_url)["partners"]) == [
        "acme-pos",
        "acme-rms",
    ]


def test_the_cli_sets_and_shows_the_contract(settings: Settings, tmp_path: Path) -> None:
    _maitred(settings, "apply", str(write(tmp_path)))
    refused = _maitred(settings, "partners", "set", "acme-pos", "--contract", "nope")
    kept = _maitred(settings, "partners", "set", "acme-pos", "--contract", "mozrest")
    shown = _maitred(settings, "partners", "show", "acme-pos")

    assert refused.returncode == 2
    assert "contract: unknown contract 'nope'" in refused.stderr
    assert kept.returncode == 0, kept.stderr
    assert "mozrest" in shown.stdout
