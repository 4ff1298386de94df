"""`maitred apply`: the file, the admin API and `POST /admin/apply` write the same records;
applying twice changes nothing; a refused file names its line and field and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Session

from maitred.api.app import create_app
from maitred.apply.service import ApplyFileError
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.schema import Base
from maitred.security import SecretBox
from tests.apply.documents import DOCUMENT, PUTS, SECRETS, applied, normalized, raw_rows, write
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _box(settings: Settings) -> SecretBox:
    return SecretBox.from_settings(settings.secret_key, settings.data_dir)


@pytest.mark.usefixtures("apply_env")
def test_file_and_admin_api_write_the_same_records(
    settings: Settings, second_settings: Settings, tmp_path: Path
) -> None:
    applied(settings, write(tmp_path))
    with TestClient(create_app(second_settings)) as client:
        for path, body in PUTS:
            assert client.put(path, json=body, headers=ADMIN).status_code == 201
    from_file = normalized(settings.database_url, _box(settings))
    assert from_file == normalized(second_settings.database_url, _box(second_settings))
    assert len(from_file["links"]) == 2


@pytest.mark.usefixtures("apply_env")
def test_admin_apply_endpoint_matches_the_file(
    settings: Settings, second_settings: Settings, tmp_path: Path
) -> None:
    applied(settings, write(tmp_path))
    document = {
        "partners": [{"id": path.rsplit("/", 1)[1], **body} for path, body in PUTS[:2]],
        "venues": [{"id": "trattoria", **PUTS[2][1]}],
    }
    with TestClient(create_app(second_settings)) as client:
        response = client.post("/admin/apply", json=document, headers=ADMIN)
    assert response.status_code == 200
    assert [c["action"] for c in response.json()["changes"]] == ["created"] * 3
    box_a, box_b = _box(settings), _box(second_settings)
    assert normalized(settings.database_url, box_a) == normalized(
        second_settings.database_url, box_b
    )


@pytest.mark.usefixtures("apply_env")
def test_applying_the_same_file_twice_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path)
    assert applied(settings, path) == f"applied {path}: 3 created"
    before = raw_rows(settings.database_url)
    assert applied(settings, path) == f"applied {path}: 3 unchanged"
    assert raw_rows(settings.database_url) == before


@pytest.mark.usefixtures("apply_env")
def test_changing_one_field_updates_only_that_record(settings: Settings, tmp_path: Path) -> None:
    applied(settings, write(tmp_path))
    before = raw_rows(settings.database_url)
    edited = DOCUMENT.replace('"pos-venue-1"', '"pos-venue-2"')
    summary = applied(settings, write(tmp_path, edited))
    assert summary.endswith("1 updated, 2 unchanged")
    after = raw_rows(settings.database_url)
    assert after["partners"] == before["partners"]
    assert after["venue_links"] != before["venue_links"]


@pytest.mark.usefixtures("apply_env")
def test_records_absent_from_the_file_are_left_alone(settings: Settings, tmp_path: Path) -> None:
    applied(settings, write(tmp_path))
    only_rms = DOCUMENT.split('[[partners]]\nid = "acme-pos"')[0]
    assert applied(settings, write(tmp_path, only_rms)).endswith("1 unchanged")
    assert len(raw_rows(settings.database_url)["partners"]) == 2


@pytest.mark.usefixtures("apply_env")
def test_no_secret_is_stored_in_plaintext(settings: Settings, tmp_path: Path) -> None:
    applied(settings, write(tmp_path))
    engine = make_throwaway_engine(settings.database_url)
    stored: list[str] = []
    with Session(engine) as session:
        for table in Base.metadata.sorted_tables:
            text_columns = [c for c in table.c if isinstance(c.type, String | Text)]
            for row in session.execute(select(*text_columns)) if text_columns else []:
                stored.extend(str(value) for value in row if value is not None)
    engine.dispose()
    assert stored
    assert not [value for value in stored for secret in SECRETS if secret in value]


@pytest.mark.usefixtures("apply_env")
def test_admin_reads_show_no_secret(settings: Settings, tmp_path: Path) -> None:
    applied(settings, write(tmp_path))
    with TestClient(create_app(settings)) as client:
        bodies = [
            client.get(path, headers=ADMIN).text
            for path in ("/admin/partners", "/admin/partners/acme-rms", "/admin/venues")
        ]
        secret = client.get("/admin/partners/acme-rms/signing-secret", headers=ADMIN).json()
    assert '"hasToken":true' in bodies[1]
    assert secret["signingSecret"].startswith("whsec_")
    for body in bodies:
        assert not [s for s in (*SECRETS, secret["signingSecret"]) if s in body]


def test_an_unset_variable_is_refused_naming_it_and_the_field(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_RMS_KEY", raising=False)
    path = write(tmp_path)
    with pytest.raises(ApplyFileError) as refused:
        applied(settings, path)
    assert refused.value.message == (
        f"{path}:6: partners[0].api_key: environment variable ACME_RMS_KEY is not set"
    )
