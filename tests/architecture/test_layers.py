"""`make lint`'s import contracts hold for the code, and fail on a file that breaks one.

Each case copies the package beside the contracts, adds one offending module, and runs the
linter there exactly as `make lint` does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _tree(tmp_path: Path) -> Path:
    """The package, the contracts and the contract type, copied into `tmp_path`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src" / "maitred", tmp_path / "maitred", ignore=ignore)
    shutil.copytree(
        ROOT / "tests" / "architecture", tmp_path / "tests" / "architecture", ignore=ignore
    )
    (tmp_path / "tests" / "__init__.py").write_text("")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_tree(tmp_path))

    assert result.returncode == 0, result.stdout
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("files", "broken"),
    [
        pytest.param(
            {"orders/_probe.py": "import fastapi\n"},
            "Domains import no web framework",
            id="a domain importing fastapi",
        ),
        pytest.param(
            {"tables/_probe.py": "from maitred.connectors import mozrest\n"},
            "Domains import no web framework",
            id="a domain importing a connector",
        ),
        pytest.param(
            {"deliveries/_probe.py": "from maitred.orders import models\n"},
            "Layers:",
            id="the delivery engine importing a domain",
        ),
        pytest.param(
            {"runtime_probe.py": "import maitred.orders.models\n"},
            "Layers:",
            id="a module the layers do not list",
        ),
        pytest.param(
            {
                "orders/_probe_a.py": "from maitred.orders import _probe_b\n",
                "orders/_probe_b.py": "from maitred.orders import _probe_a\n",
            },
            "No import cycles",
            id="two modules importing each other",
        ),
    ],
)
def test_a_file_breaking_a_contract_fails_the_lint(
    tmp_path: Path, files: dict[str, str], broken: str
) -> None:
    tree = _tree(tmp_path)
    for name, text in files.items():
        (tree / "maitred" / name).write_text(text)

    result = _lint(tree)

    assert result.returncode != 0
    assert f"{broken}" in result.stdout
    assert "BROKEN" in result.stdout
