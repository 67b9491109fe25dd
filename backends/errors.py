"""The exceptions ufo-etl raises, one hierarchy under :class:`UfoEtlError`.

::

    UfoEtlError
    ├── ConfigurationError    a setting or parameter is invalid
    ├── RawInputError         a raw file cannot be read under the contract
    ├── DatasetError          a Parquet dataset is missing, incomplete or corrupt
    ├── BackendUnavailableError  an engine cannot start (Java, cluster, driver)
    └── ReconciliationError   records were lost or invented between input and output

Messages name the file, line, dataset or setting concerned, and never contain
credentials.
"""

from __future__ import annotations


class UfoEtlError(Exception):
    """Base class of every error ufo-etl raises on purpose."""


class ConfigurationError(UfoEtlError, ValueError):
    """A setting, parameter or path is invalid."""


class RawInputError(UfoEtlError):
    """A raw file breaks the input contract (header, encoding, quoting, no files)."""


class DatasetError(UfoEtlError):
    """A Parquet dataset is missing, incomplete or unreadable."""


class BackendUnavailableError(UfoEtlError):
    """An engine cannot be started or reached."""


class ReconciliationError(UfoEtlError):
    """Raw records do not equal sightings plus rejects."""
