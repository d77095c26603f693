"""No import circles, in the Python package or in the Rust crate.

Run alone: ``.venv/bin/pytest tests/test_import_graph.py -q``. The graphs are built from the
sources (``ast`` for Python, ``use crate::``/``super::`` paths for Rust), so imports under
``TYPE_CHECKING`` and inside functions count too: a circle hidden there is still a circle.
"""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "modeltap"
CRATE = ROOT / "rust"


def _python_module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_graph() -> dict[str, set[str]]:
    """Each module of ``modeltap`` and the modules of ``modeltap`` it imports (a package's
    ``__init__`` is not counted as a dependency of its own submodules' imports of siblings)."""
    # Stubs stand for compiled modules (``_native``).
    modules = {_python_module(p): p for p in [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyi")]}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from a import b` imports a.b when b is a module, else a.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                t = target
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


_USE = re.compile(r"\b(?:crate|super)(?:::\w+)+")


def _rust_module(path: Path) -> str:
    parts = list(path.relative_to(CRATE).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return "::".join(["crate", *parts])


def rust_graph() -> dict[str, set[str]]:
    """Each module of the crate and the crate modules its code names (``crate::x``,
    ``super::x``); tests modules (``#[cfg(test)]``) are left out."""
    files = {_rust_module(p): p for p in CRATE.rglob("*.rs")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for name, path in files.items():
        text = path.read_text().split("#[cfg(test)]\nmod tests")[0]
        is_dir_module = path.stem in ("mod", "lib")
        parent = name if is_dir_module else name.rpartition("::")[0]
        for match in _USE.finditer(text):
            target = match.group(0)
            if target.startswith("super"):
                target = (
                    parent.rpartition("::")[0] + target.removeprefix("super")
                    if is_dir_module
                    else parent + target.removeprefix("super")
                )
            while target and target not in files:
                target = target.rpartition("::")[0]
            if target and target not in ("crate", name) and not name.startswith(target + "::"):
                graph[name].add(target)
    return graph


def _assert_acyclic(graph: dict[str, set[str]]) -> None:
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as e:
        raise AssertionError(f"import circle: {' -> '.join(e.args[1])}") from None


def test_the_python_package_has_no_import_circles() -> None:
    graph = python_graph()
    assert "modeltap.collector" in graph["modeltap"], "the graph is built from the package"
    # A package's __init__ imports its submodules; a submodule importing its own package is
    # how a circle starts, so that edge stays in.
    _assert_acyclic(graph)


def test_the_rust_crate_has_no_module_circles() -> None:
    graph = rust_graph()
    assert "crate::stream" in graph["crate::pipeline"], "the graph is built from the crate"
    _assert_acyclic(graph)


def test_a_circle_is_found() -> None:
    """The check itself can fail."""
    try:
        _assert_acyclic({"a": {"b"}, "b": {"a"}})
    except AssertionError as e:
        assert "a -> b" in str(e) or "b -> a" in str(e)
    else:
        raise AssertionError("a circle went unnoticed")
