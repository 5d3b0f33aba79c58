"""``python -m cnnbook grade ...``: the same as the ``cnnbook`` command."""

import sys

from cnnbook.cli import main

sys.exit(main())
