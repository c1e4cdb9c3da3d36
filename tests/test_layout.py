"""The tree says what owns what: harness/ grouped by concern, a foundation below every layer, no import cycles.

Imports inside functions count too: a lazy import keeps start-up fast, but two modules that need each other are
one module in two files.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"core": "core", "harness": "harness", "judges": "judges", "dashboard": "dashboard", "tasks": "tasks",
            "train": "train"}


def _modules() -> dict[str, Path]:
    out = {}
    for top, folder in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join(["transeval", top, *parts])] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module an ``import`` in the file names, at any depth (``from a import b`` names a and a.b)."""
    found: set[str] = set()
    for sub in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(sub, ast.Import):
            found.update(a.name for a in sub.names)
        elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
            found.add(sub.module)
            found.update(f"{sub.module}.{a.name}" for a in sub.names)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the transeval modules it imports (packages' ``__init__`` left out: they import nothing)."""
    mods = _modules()
    known = {name for name, path in mods.items() if path.name != "__init__.py"}
    return {name: {m for m in _imports(path) if m in known and m != name} for name, path in mods.items()}


def test_harness_top_level_is_small_and_grouped() -> None:
    top = sorted(p.name for p in (ROOT / "harness").glob("*.py"))
    assert len(top) <= 12, top
    assert not (ROOT / "harness" / "knowledge.py").exists() and not (ROOT / "harness" / "gaokao.py").exists()


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_lower_layers_never_import_upward() -> None:
    """core imports no other transeval package; judges/ and train/ never import the harness above them."""
    for name, path in _modules().items():
        imports = _imports(path)
        if name.startswith("transeval.core"):
            bad = {m for m in imports if m.startswith("transeval.") and not m.startswith("transeval.core")}
        elif name.startswith(("transeval.judges", "transeval.train")):
            bad = {m for m in imports if m.startswith(("transeval.harness", "transeval.dashboard"))}
        else:
            continue
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
