"""Partner URLs are judged when saved the way the HTTP client will read them, by every way of
saving one (admin API, apply, CLI): credentials in the URL (`user:password@`, which the client
would turn into a second Authorization header next to the partner's token) and every spelling
of a forbidden IP literal are refused at once, naming the field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.netguard import NetPolicy
from tests.conftest import ADMIN_TOKEN
from tests.reliability.conftest import Record

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

WITH_CREDENTIALS = [
    ("webhook_url", "https://user:s3cret-pw@hooks.example.com/pos-order"),
    ("base_url", "https://api-user:pw@pos.example.com/api"),
    ("base_url", "https://only-user@pos.example.com/"),
    ("webhook_url", "https://:pw-only@hooks.example.com/"),
    ("webhook_url", "https://@hooks.example.com/"),
]

# Spellings the resolver and the HTTP client read as one of the documented forbidden literals.
OTHER_SPELLINGS = [
    ("webhook_url", "http://169.254.169.254./latest/meta-data/"),  # the DNS root's trailing dot
    ("base_url", "http://10.1.2.3.:8080/"),
    ("webhook_url", "http://2852039166./"),  # 169.254.169.254 as one number, trailing dot
    ("base_url", "http://0x7f.1./"),
    (
        "webhook_url",
        "http://\uff11\uff16\uff19\uff0e\uff12\uff15\uff14\uff0e\uff11\uff16\uff19\uff0e\uff12\uff15\uff14/",
    ),
    ("webhook_url", "http://169\u3002254\u3002169\u3002254/"),  # ideographic full stops
    ("base_url", "http://0251.0376.0251.0376/"),  # octal
    ("base_url", "http://0XA9.0XFE.0XA9.0XFE/"),
    ("base_url", "http://[::FFFF:A9FE:A9FE]/"),
]


def _refused_everywhere(client: TestClient, name: str, url: str) -> list[str]:
    """What was wrong with saving `url` as `name` through the admin API and apply."""
    problems = []
    body: dict[str, Any] = {"kind": "rms", name: url}
    put = client.put("/admin/partners/bad", json=body, headers=ADMIN)
    if put.status_code != 400 or name not in put.json()["error"]["details"]:
        problems.append(f"PUT {url}: {put.status_code} {put.text[:200]}")
    doc = {"partners": [{"id": "bad", **body}]}
    applied = client.post("/admin/apply", json=doc, headers=ADMIN)
    if (
        applied.status_code != 400
        or f"partners[0].{name}" not in applied.json()["error"]["details"]
    ):
        problems.append(f"apply {url}: {applied.status_code} {applied.text[:200]}")
    return problems


@pytest.mark.parametrize("urls", [WITH_CREDENTIALS, OTHER_SPELLINGS], ids=["credentials", "ip"])
def test_partner_urls_are_refused_when_saved_naming_the_field(
    settings: Settings, urls: list[tuple[str, str]], figure: Record
) -> None:
    closed = settings.model_copy(update={"allow_loopback": False})
    with TestClient(create_app(closed)) as client:
        problems = [p for name, url in urls for p in _refused_everywhere(client, name, url)]
        listed = client.get("/admin/partners", headers=ADMIN).json()
        ok = {"kind": "rms", "webhook_url": "https://hooks.example.com/h?venue=1"}
        accepted = client.put("/admin/partners/ok", json=ok, headers=ADMIN).status_code
    figure(forms=len(urls), refused=len(urls) - len(problems) // 2, stored=len(listed))
    assert problems == []
    assert listed == []
    assert accepted == 201
    for text in (str(problems), str(listed)):
        assert "s3cret-pw" not in text


def test_the_saved_url_check_reads_hosts_as_the_client_does() -> None:
    """Each spelling is refused by the policy itself, which every way of saving calls."""
    policy = NetPolicy(allow_loopback=False)
    for _, url in OTHER_SPELLINGS:
        assert policy.url_refusal(url), url
    assert policy.url_refusal("https://hooks.example.com./h") is None  # a name: judged later


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MAITRED_DATABASE_URL": settings.database_url,
        "MAITRED_DATA_DIR": str(settings.data_dir),
        "MAITRED_SECRET_KEY": settings.secret_key or "",
    }
    command = [sys.executable, "-m", "maitred", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_refuses_a_url_with_credentials_naming_the_field(
    settings: Settings, tmp_path: Path
) -> None:
    url = "https://user:s3cret-pw@hooks.example.com/pos-order"
    direct = _cli(settings, "partners", "set", "bad", "--kind", "rms", "--webhook-url", url)
    document = tmp_path / "partners.toml"
    document.write_text(f'[[partners]]\nid = "bad"\nkind = "pos"\nbase_url = "{url}"\n')
    applied = _cli(settings, "apply", str(document))
    listed = _cli(settings, "partners", "list")
    assert direct.returncode == 2, direct.stderr
    assert "webhook_url" in direct.stderr
    assert applied.returncode == 2, applied.stderr
    assert "base_url" in applied.stderr
    assert "bad" not in listed.stdout
    assert "s3cret-pw" not in direct.stderr + applied.stderr
