"""``python -m bench [--small]``: generate or reuse the dataset, run every scenario, report."""

import sys

from .run import main

sys.exit(main())
