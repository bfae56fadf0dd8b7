"""`python -m videos` is an alias for `python -m videos.generate`."""

import sys

from .generate import main

sys.exit(main())
