"""The docs' runnable examples: the code blocks marked `<!-- docs-test: NAME -->` in README.md
and docs/, read from the files themselves, and a newcomer's directory to run them in."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maitred.demo.stack import call, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
DOCS = {
    "README": REPO / "README.md",
    "operators": REPO / "docs" / "operators.md",
    "rms": REPO / "docs" / "partners" / "rms.md",
    "pos": REPO / "docs" / "partners" / "pos.md",
    "webhooks": REPO / "docs" / "partners" / "webhooks.md",
    "channels": REPO / "docs" / "partners" / "channels.md",
}
EXAMPLE = REPO / "partners.example.toml"
# The ports the docs use (the hub's and the simulators' defaults), moved to free ones when run
# so that nothing else on the machine can be in the way.
HUB, POS, RMS = 8000, 9101, 9102
_BLOCK = re.compile(r"<!-- docs-test: (\S+) -->\n```(\w*)\n(.*?)\n```", re.DOTALL)
_EXPORT = re.compile(r"^export (\w+)=(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One marked code block."""

    doc: str
    name: str
    lang: str
    text: str

    def json(self) -> Any:
        """The block as JSON."""
        return json.loads(self.text)

    def toml(self) -> dict[str, Any]:
        """The block as TOML."""
        return tomllib.loads(self.text)


def blocks(doc: str) -> dict[str, Block]:
    """Every marked block of one document, by name."""
    text = DOCS[doc].read_text(encoding="utf-8")
    return {m[1]: Block(doc, m[1], m[2], m[3]) for m in _BLOCK.finditer(text)}


def exports(script: str) -> dict[str, str]:
    """The variables a block exports (`export NAME=value`, a comment after it allowed)."""
    return dict(_EXPORT.findall(script))


@dataclass
class Newcomer:
    """A fresh directory with `.venv` and `partners.example.toml`, as in a checkout, and the
    processes started from it."""

    workdir: Path
    ports: dict[int, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    setup: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, workdir: Path) -> Newcomer:
        """The directory, with the docs' ports mapped to free ones."""
        (workdir / ".venv").symlink_to(REPO / ".venv")
        newcomer = cls(workdir, {port: free_port() for port in (HUB, POS, RMS)})
        shutil.copy(EXAMPLE, workdir / EXAMPLE.name)
        path = workdir / EXAMPLE.name
        path.write_text(newcomer.moved(path.read_text(encoding="utf-8")), encoding="utf-8")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MAITRED_")}
        newcomer.env = clean | {"MAITRED_PORT": str(newcomer.ports[HUB])}
        return newcomer

    def url(self, port: int) -> str:
        """Where the service the docs put on `port` really listens."""
        return f"http://127.0.0.1:{self.ports[port]}"

    def moved(self, text: str) -> str:
        """`text` with the docs' ports moved, the simulators' default ports and hub included."""
        for documented, actual in self.ports.items():
            text = text.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{actual}")
        sims = {"pos": POS, "rms": RMS}
        return re.sub(
            r"maitred simulate (pos|rms)\b",
            lambda m: f"{m[0]} --port {self.ports[sims[m[1]]]} --hub {self.url(HUB)}",
            text,
        )

    def start(self, setup: Block) -> None:
        """Run the setup block (it ends serving in the foreground) and wait for the hub."""
        self.env |= exports(setup.text)
        with (self.workdir / "setup.log").open("wb") as log:  # the children keep their copy
            self.setup = subprocess.Popen(
                ["bash", "-c", self.moved(setup.text)],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: the hub and both simulators
            )
        wait_for("the hub's /healthz", self._healthy, timeout=60)

    def _healthy(self) -> bool:
        if self.setup is not None and self.setup.poll() is not None:
            raise AssertionError("setup ended: " + self.log())
        try:
            return call("GET", self.url(HUB) + "/healthz")[0] == 200
        except OSError:
            return False

    def run(self, block: Block) -> str:
        """Run a block of commands as a script that stops at the first failing one."""
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-x", "-c", self.moved(block.text)],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, f"{block.doc} block {block.name!r} failed:\n{output}"
        return output

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows from the hub's SQLite file (the README's default database)."""
        with sqlite3.connect(self.workdir / "maitred.db") as connection:
            return connection.execute(sql, params).fetchall()

    def log(self) -> str:
        """What the setup block printed (the hub's and the simulators' output)."""
        return (self.workdir / "setup.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the hub and the simulators (SIGTERM to the group, as Ctrl-C would)."""
        if self.setup is None:
            return
        os.killpg(self.setup.pid, signal.SIGTERM)
        try:
            self.setup.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.setup.pid, signal.SIGKILL)
            self.setup.wait()
