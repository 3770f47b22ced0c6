"""Dependencies point one way: web/admin -> node (+ federation look-ups), federation -> node.

`node` imports none of the others except in its composition root, `node/app.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("node", "federation", "web", "admin")
FORBIDDEN = {
    "node": {"federation", "web", "admin"},
    "federation": {"web", "admin"},
    "web": {"admin"},
    "admin": {"web"},
}
COMPOSITION_ROOTS = {"node/app.py"}
MAX_MODULE_LINES = 400


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    package = relative.split("/")[0]
    if relative in COMPOSITION_ROOTS:
        return
    wrong = imported_packages(path) & FORBIDDEN[package]
    assert not wrong, f"{relative} imports {sorted(wrong)}"


def test_modules_stay_small() -> None:
    big = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in modules()
        if "migrations" not in p.parts
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not big, f"split these modules: {big}"


def test_the_checker_catches_a_wrong_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import web.routes\nfrom admin import routes\nfrom . import x\n")
    assert imported_packages(sample) == {"web", "admin"}
