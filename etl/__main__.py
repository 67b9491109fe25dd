"""``python -m etl shell|sql|preview|runs``: see :mod:`etl.explore`."""

import sys

from etl.explore import main

sys.exit(main())
