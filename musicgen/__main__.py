"""``python -m musicgen`` is the ``musicgen`` command."""

import sys

from musicgen.cli import main

sys.exit(main())
