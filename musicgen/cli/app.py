"""``musicgen app``: start the Streamlit app (``app.py``) on the shipped or chosen weights.

    musicgen app                       # http://localhost:8501
    musicgen app --port 8600 --weights weights/mymodel

The app's page is ``app.py`` with its vendored sheet-music component (``assets/abcjs``): in a
clone, the files at the top of the tree; in an installed wheel, the copies it carries in
``<prefix>/share/musicgen/``. Streamlit runs as a child process (``python -m streamlit run``),
so nothing in the package imports Streamlit. The settings in ``.streamlit/config.toml`` beside
``app.py`` (no usage statistics, no developer menus, no uploads) are passed as options, so they
hold whatever the folder the command is started from.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from musicgen.cli import WEIGHTS_HELP
from musicgen.model.checkpoint import ENV_VAR, SOURCE_TREE

PAGE = "app.py"


def page_places() -> list[Path]:
    """Where the app's page may be, in order: the source tree, then the installed data folder."""
    places = [SOURCE_TREE / PAGE] if SOURCE_TREE is not None else []
    for prefix in dict.fromkeys([sysconfig.get_path("data"), sys.prefix]):
        places.append(Path(prefix) / "share" / "musicgen" / PAGE)
    return places


def find_page() -> Path:
    for place in page_places():
        if place.is_file():
            return place
    looked = ", ".join(str(p) for p in page_places())
    raise FileNotFoundError(f"the app's page ({PAGE}) is not installed; looked in: {looked}")


def streamlit_options(page: Path) -> list[str]:
    """``--section.option value`` pairs for each setting of the page's ``.streamlit/config.toml``.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / ".streamlit").mkdir()
    >>> _ = (folder / ".streamlit" / "config.toml").write_text('[server]\\nmaxUploadSize = 1\\n[browser]\\nx = false\\n')
    >>> streamlit_options(folder / PAGE)
    ['--server.maxUploadSize', '1', '--browser.x', 'false']
    """
    config = page.parent / ".streamlit" / "config.toml"
    if not config.is_file():
        return []
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: Streamlit reads the file itself when started beside it
        return []
    options = []
    for section, values in tomllib.loads(config.read_text(encoding="utf-8")).items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            options += [f"--{section}.{key}", text]
    return options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8501, help="the port to serve on (default 8501)")
    p.add_argument("--address", default="localhost", help="the address to serve on (default localhost)")
    p.add_argument("--weights", help=WEIGHTS_HELP)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port {args.port} is not a port number (1 to 65535)")
    page = find_page()
    env = dict(os.environ)
    if args.weights:
        env[ENV_VAR] = str(Path(args.weights).resolve())
    command = [sys.executable, "-m", "streamlit", "run", str(page), *streamlit_options(page)]
    command += ["--server.port", str(args.port), "--server.address", args.address, "--server.headless", "true"]
    print(f"musicgen app: http://{args.address}:{args.port}", file=sys.stderr)
    return subprocess.call(command, env=env)
