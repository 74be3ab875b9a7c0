"""``python -m bpkit.course``: see :mod:`bpkit.course`."""

import sys

from . import main

sys.exit(main())
