"""``python -m bench``: run the benchmark (see ``--help``)."""

import sys

from bench.run import main

sys.exit(main())
