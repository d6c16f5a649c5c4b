"""``python -m musicgen`` is the ``musicgen`` command."""

import sys

from .cli import main

sys.exit(main())
