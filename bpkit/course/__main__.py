"""``python -m bpkit.course``: see :mod:`bpkit.course`."""

import sys

from . import main

__all__ = []

if __name__ == "__main__":       # also imported by tools that walk the package
    sys.exit(main())
