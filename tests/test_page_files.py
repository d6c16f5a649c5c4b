"""The app's page travels whole: every page module that ``app.py`` reaches and every component folder it
serves is a data file of the wheel (``pyproject.toml``), and ``tests/test_install.py`` copies each into the
sources it builds the wheel from. A page module or an asset folder left out would install a page that fails
on its first import, or draws no sheet music, far from this tree; so the installed page is also run, in
AppTest, from the folder the wheel puts it in (its Compose, its workbench's tabs and its other mode)."""

from __future__ import annotations

import ast
import re
import sys

import pytest
from conftest import REPO_ROOT
from test_install import PAGE, Installed, installed, wheel  # noqa: F401  (the wheel, built and installed once)

tomllib = pytest.importorskip("tomllib")  # Python 3.11 on


def page_modules() -> set[str]:
    """The top-level modules the page imports, followed from ``app.py`` through each other."""
    found, todo = set(), ["app"]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        tree = ast.parse((REPO_ROOT / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            todo += [n for n in names if (REPO_ROOT / f"{n}.py").is_file()]
    return {f"{n}.py" for n in found}


def component_folders() -> set[str]:
    """The asset folders the page's components are declared with (``ASSETS / "name"``)."""
    folders = set()
    for module in page_modules():
        text = (REPO_ROOT / module).read_text(encoding="utf-8")
        folders |= {f"assets/{m}" for m in re.findall(r'ASSETS / "([a-z]+)"', text)}
    return folders


def test_every_page_module_and_component_folder_is_a_data_file_of_the_wheel() -> None:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    files = data["tool"]["setuptools"]["data-files"]
    modules = page_modules()
    assert {"app.py", "app_views.py", "app_tools.py", "app_inside.py"} <= modules
    assert modules == set(files["share/musicgen"])
    folders = component_folders()
    assert folders == {"assets/abcjs", "assets/inside"}
    for folder in folders:
        assert files[f"share/musicgen/{folder}"] == [f"{folder}/*"]
    assert modules <= set(PAGE)  # the wheel's build copies them


@pytest.mark.slow
def test_the_installed_page_composes_and_shows_both_modes(installed: Installed) -> None:  # noqa: F811
    """The page as the wheel installs it (``<prefix>/share/musicgen``), run away from the source tree."""
    page = installed.target / "share" / "musicgen" / "app.py"
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(page)!r}, default_timeout=240).run()\n"
        "next(b for b in at.button if b.label == 'Compose').click().run()\n"
        "assert not at.exception, at.exception\n"
        "tabs = [t.label for t in at.tabs]\n"
        "at.radio(key='mode').set_value('inside').run()\n"
        "assert not at.exception, at.exception\n"
        "print(tabs, [s.value for s in at.subheader], sorted(m for m in sys.modules if m.startswith('app')))\n"
    )
    done = installed.run(sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr[-3000:]
    tabs, heads, modules = done.stdout.strip().splitlines()[-1].split("] [")
    assert all(t in tabs for t in ("Practise", "Edit ABC", "Transpose", "Rewrite"))
    assert "Inside the model" in heads
    for name in ("app_views", "app_tools", "app_inside", "app_transpose", "app_rewrite"):
        assert f"'{name}'" in modules
