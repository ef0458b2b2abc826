"""``python -m meridian.cli``: the same as the ``meridian`` command."""

import sys

from meridian.cli import main

sys.exit(main())
