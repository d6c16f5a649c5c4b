"""The package's shape, read from its source: subpackages along the path of a tune, imports only
downwards, no import circles (imports inside functions included), no module over 350 lines, and
neither Streamlit in the package nor TensorFlow on the generation path.

The layers (docs/architecture.md draws them), lowest first; a module may import its own subpackage
and any lower layer, never a higher one or a sibling of its own layer:

    abcnotation, memo  <-  config  <-  data  <-  model  <-  compose | sound  <-  judge  <-  app | cli
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "musicgen"
LAYERS = {
    "abcnotation": 0,
    "memo": 0,
    "config": 1,
    "data": 2,
    "model": 3,
    "compose": 4,
    "sound": 4,
    "judge": 5,
    "app": 6,
    "cli": 6,
}
SUBPACKAGES = ("abcnotation", "data", "model", "compose", "sound", "judge", "cli", "app")
MAX_LINES = 350
TENSORFLOW_ALLOWED = {
    "musicgen.model.network",
    "musicgen.model.train",
    "musicgen.model.distribute",
    "musicgen.model.windows",
}
# Where generation starts: the app's helpers, the sampler, the generate command. None of these may
# reach TensorFlow through any chain of imports, lazy ones included.
GENERATION_ENTRIES = ("musicgen.compose.sample", "musicgen.cli.generate", "musicgen.app")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The package's module that ``import name`` loads last (a module, else its package), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the package's modules that ``module`` imports anywhere in its body, the top-level names of
    the other packages it imports)."""
    path = MODULES[module]
    return imports_in(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool = False) -> tuple[frozenset[str], frozenset[str]]:
    """:func:`imports` of a module's source text: every import statement, at any depth."""
    tree = ast.parse(source)
    inside, outside = set(), set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            names = [f"{stem}.{a.name}" for a in node.names] if stem.startswith("musicgen") else [stem]
        for name in names:
            if name == "musicgen" or name.startswith("musicgen."):
                target = resolve(name)
                if target and target != module:
                    inside.add(target)
            else:
                outside.add(name.split(".")[0])
    return frozenset(inside), frozenset(outside)


def layer(module: str) -> tuple[str, int] | None:
    """(the layer's name, its rank) for a module below ``musicgen``; None for the package itself."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] == "__main__":
        return None
    return parts[1], LAYERS[parts[1]]


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [m for m in MODULES if m.count(".") and m.split(".")[1] not in LAYERS | {"__main__": 0}]
    assert not unplaced, f"modules outside the layers of docs/architecture.md: {unplaced}"


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_the_subpackages_are_present_and_say_what_they_hold(sub: str) -> None:
    init = PACKAGE / sub / "__init__.py"
    assert init.is_file(), f"musicgen/{sub}/ is missing"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and "import" in doc, f"musicgen/{sub}/__init__.py must say what it holds and what it may import"


def test_imports_go_downwards_only() -> None:
    wrong = []
    for module in MODULES:
        here = layer(module)
        for target in imports(module)[0]:
            there = layer(target)
            if there is None:
                if here is not None:  # the public API imports everything: nothing may import it back
                    wrong.append(f"{module} imports the package root {target}")
                continue
            if here is None or here[0] == there[0]:
                continue
            if there[1] >= here[1]:
                wrong.append(f"{module} ({here[0]}) imports {target} ({there[0]})")
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(sorted(wrong))


def test_no_import_circles() -> None:
    # Tarjan's strongly connected components over the module graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(imports(v)[0]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert not circles, f"modules that import each other: {circles}"


def test_no_module_is_over_350_lines() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these by concept: {long}"


def test_nothing_in_the_package_imports_streamlit() -> None:
    assert not [m for m in MODULES if "streamlit" in imports(m)[1]]


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(imports(m)[0])
    return seen


def test_tensorflow_only_where_the_network_is_built_or_trained() -> None:
    users = {m for m in MODULES if {"tensorflow", "keras"} & imports(m)[1]}
    assert users <= TENSORFLOW_ALLOWED, f"TensorFlow imported outside the model's training modules: {users}"


@pytest.mark.parametrize("entry", GENERATION_ENTRIES)
def test_the_generation_path_never_reaches_tensorflow(entry: str) -> None:
    reached = reachable(entry) & TENSORFLOW_ALLOWED
    assert not reached, f"{entry} reaches {reached} through its imports"


def test_the_walk_sees_imports_inside_functions_and_relative_ones() -> None:
    source = (
        "import numpy as np\n"
        "from musicgen.model import engine\n"
        "def later():\n"
        "    from musicgen.sound.export import to_midi\n"
        "    from .tracker import Tracker\n"
        "    from .. import config\n"
        "    import tensorflow\n"
    )
    inside, outside = imports_in(source, "musicgen.compose.sample")
    assert inside == {"musicgen.model.engine", "musicgen.sound.export", "musicgen.compose.tracker", "musicgen.config"}
    assert outside == {"numpy", "tensorflow"}
