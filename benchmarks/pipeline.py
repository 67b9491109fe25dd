"""The Luigi task the ufo-etl variants run: ``etl.UFODatasets``, every dataset of
the registry without the report or the PostgreSQL load, as a user runs it::

    python -m luigi --module benchmarks.pipeline UFODatasets --local-scheduler \\
        --etl-raw-path FILE --etl-data-root DIR [--etl-backend spark ...]

(``--module etl UFODatasets`` is the same task.)
"""

from __future__ import annotations

from etl import UFODatasets

__all__ = ["UFODatasets"]
