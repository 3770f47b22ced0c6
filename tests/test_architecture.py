"""Dependencies point one way, and pages reach the database only through services.

- `node` imports none of our other packages, except its composition root `node/app.py`.
- `federation` uses `node`.
- `web.shell` (the HTML shell: sessions, CSRF, forms, rendering, error pages) uses `node`.
- `web` (the residents' pages) uses `node`, `web.shell` and federation's read-only
  look-ups (`federation.lookup`), nothing else of federation.
- `admin` uses `node`, `web.shell`, `federation.lookup` and `federation.needs_fetch`
  (partner nodes' needs figures, read-only); never the residents' pages.

Pages call services: no module of `web` or `admin` queries or saves a model itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tortoise.models import Model

import node.models

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("node", "federation", "web", "admin")
OURS = frozenset(PACKAGES)
# Who may import what: a module's own package is always allowed; each entry lists the
# other modules (a package, or a module and everything under it) it may use.
ALLOWED = {
    "node": ("node",),
    "federation": ("node", "federation"),
    "web.shell": ("node", "web.shell"),
    "web": ("node", "web", "federation.lookup"),
    "admin": ("node", "admin", "web.shell", "federation.lookup", "federation.needs_fetch"),
}
COMPOSITION_ROOTS = {"node/app.py"}
MAX_MODULE_LINES = 400
# Calls that read or write the database through a model class or instance.
QUERY_METHODS = frozenset(
    {
        "all",
        "annotate",
        "bulk_create",
        "bulk_update",
        "create",
        "delete",
        "exclude",
        "exists",
        "fetch_related",
        "filter",
        "first",
        "get",
        "get_or_create",
        "get_or_none",
        "raw",
        "refresh_from_db",
        "save",
        "select_for_update",
        "update_or_create",
    }
)
MODEL_NAMES = frozenset(
    name
    for name in dir(node.models)
    if isinstance(getattr(node.models, name), type)
    and issubclass(getattr(node.models, name), Model)
)


def imported_modules(path: Path) -> set[str]:
    """Dotted names of our modules that `path` imports (`from a import b` gives `a.b`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for item in ast.walk(tree):
        if isinstance(item, ast.Import):
            found.update(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
            found.update(f"{item.module}.{alias.name}" for alias in item.names)
    return {name for name in found if name.split(".")[0] in OURS}


def layer_of(relative: str) -> str:
    return "web.shell" if relative.startswith("web/shell/") else relative.split("/")[0]


def is_allowed(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == rule or module.startswith(rule + ".") for rule in allowed)


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative in COMPOSITION_ROOTS:
        return
    allowed = ALLOWED[layer_of(relative)]
    wrong = sorted(m for m in imported_modules(path) if not is_allowed(m, allowed))
    assert not wrong, f"{relative} imports {wrong}"


def model_queries(path: Path) -> list[str]:
    """`Model.filter(...)`-like calls on model classes, and `x.save()`-like calls on anything."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    models = set(MODEL_NAMES)  # and the names they are imported as
    for item in ast.walk(tree):
        if isinstance(item, ast.ImportFrom) and item.module == "node.models":
            models.update(a.asname for a in item.names if a.asname and a.name in MODEL_NAMES)
    found = []
    for item in ast.walk(tree):
        if not (isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute)):
            continue
        method, owner = item.func.attr, item.func.value
        on_model = isinstance(owner, ast.Name) and owner.id in models
        on_instance = method in ("save", "fetch_related", "refresh_from_db")
        if method in QUERY_METHODS and (on_model or on_instance):
            found.append(f"line {item.lineno}: {ast.unparse(item.func)}()")
    return found


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in modules()
        if layer_of(p.relative_to(ROOT).as_posix()) in ("web", "web.shell", "admin")
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_pages_query_through_services(path: Path) -> None:
    found = model_queries(path)
    assert not found, f"{path.relative_to(ROOT)} queries models itself: {found}"


def test_modules_stay_small() -> None:
    big = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in modules()
        if "migrations" not in p.parts
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not big, f"split these modules: {big}"


def test_the_checkers_catch_wrong_imports_and_queries(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import web.routes\nfrom admin import routes\nfrom . import x\n"
        "from federation import lookup, outbox\nimport json\n"
        "from node.models import Response as Answer\n"
        "async def f(post):\n    await HelpPost.filter(id=1)\n    await post.save()\n"
        "    await service.get(1)\n    await Answer.get(id=2)\n"
    )
    assert imported_modules(sample) == {
        "web.routes",
        "admin.routes",
        "federation.lookup",
        "federation.outbox",
        "node.models.Response",
    }
    allowed = ALLOWED["web"]
    assert is_allowed("federation.lookup", allowed)
    assert not is_allowed("federation.outbox", allowed)
    assert not is_allowed("admin.routes", ALLOWED["web"])
    assert is_allowed("web.shell.forms", ALLOWED["admin"])
    assert not is_allowed("web.pages.post", ALLOWED["admin"])
    assert model_queries(sample) == [
        "line 8: HelpPost.filter()",
        "line 9: post.save()",
        "line 11: Answer.get()",
    ]
