"""musicgen as a real installed package: the wheel holds every module and the shipped weights, and,
installed away from the source tree, ``musicgen generate`` and ``Generator.load()`` find those weights.

The wheel is built from a copy of the sources (the tree gets no build/ folder), with the project
venv's own setuptools where it has one, and installed with ``--no-deps --target`` into a temporary folder; the venv's
Python then runs it with that folder on PYTHONPATH, so TensorFlow and friends are not installed again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "requirements.txt", "musicgen", "weights")
PAGE = (  # the app's page: data files of the wheel
    "app.py",
    "app_views.py",
    "app_tools.py",
    "app_inside.py",
    "app_transpose.py",
    "app_rewrite.py",
    ".streamlit",
    "assets",
)
SHIPPED = REPO_ROOT / "weights" / "nottingham"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES + PAGE:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        else:
            shutil.copy2(path, src / name)
    # the venv's own setuptools when it has one (no download); else pip fetches pyproject.toml's
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", root / "dist", src]
    done = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = (root / "dist").glob("musicgen-*.whl")
    return built


@dataclass(frozen=True)
class Installed:
    """The wheel installed into ``target``, run from ``cwd`` (a folder without weights/) with ``env``."""

    target: Path
    cwd: Path
    env: dict[str, str]

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=300
        )


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    target = tmp_path_factory.mktemp("site")
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", target, wheel]
    done = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("MUSICGEN_WEIGHTS", "PYTHONPATH")}
    env |= {"PYTHONPATH": str(target), "PYTHONIOENCODING": "utf-8"}
    return Installed(target.resolve(), tmp_path_factory.mktemp("elsewhere"), env)


def test_the_wheel_holds_every_module_and_the_shipped_weights(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        modules = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "musicgen").rglob("*.py")}
        assert modules - names == set(), "modules missing from the wheel: list new subpackages in pyproject.toml"
        shipped = {f.relative_to(SHIPPED).as_posix(): sha256(f.read_bytes()) for f in SHIPPED.rglob("*") if f.is_file()}
        prefix = "musicgen/weights/nottingham/"
        in_wheel = {n.removeprefix(prefix): sha256(z.read(n)) for n in names if n.startswith(prefix)}
    assert {"weights.npz", "vocab.json", "config.json"} <= set(shipped)
    assert in_wheel == shipped  # every file, byte for byte
    assert not any(n.startswith("weights/") for n in names), "the weights belong inside the package"


def test_generator_load_finds_the_installed_weights(installed: Installed) -> None:
    code = "import musicgen\nprint(musicgen.__file__)\nprint(musicgen.Generator.load().checkpoint.path)\n"
    done = installed.run(sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    module, weights = done.stdout.split()
    assert Path(module).resolve().is_relative_to(installed.target), f"{module} is not the installed copy"
    assert Path(weights) == installed.target / "musicgen" / "weights" / "nottingham"


def test_musicgen_generate_composes_a_tune_from_another_folder(installed: Installed) -> None:
    args = ("generate", "--n", "1", "--rng", "7", "--sound", "mid", "--out")
    done = installed.run(installed.target / "bin" / "musicgen", *args, "tunes")
    assert done.returncode == 0, done.stderr
    abc = (installed.cwd / "tunes" / "tune_01.abc").read_text(encoding="utf-8")
    assert abc.startswith("X:") and (installed.cwd / "tunes" / "tune_01.mid").stat().st_size > 0
    # the very tune the source tree's own command writes: the weights arrived whole
    tree = installed.cwd / "from-tree"
    env = {k: v for k, v in os.environ.items() if k != "MUSICGEN_WEIGHTS"}
    here = subprocess.run(
        [sys.executable, "-m", "musicgen", *args, str(tree)], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert here.returncode == 0, here.stderr
    assert (tree / "tune_01.abc").read_text(encoding="utf-8") == abc
