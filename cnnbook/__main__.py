"""``python -m cnnbook grade ...``: the same as the ``cnnbook`` command (:mod:`cnnbook.homework.cli`)."""

import sys

from cnnbook.homework.cli import main

sys.exit(main())
