"""One line, not a traceback, for the errors ufo-etl raises on purpose.

Luigi logs a failed task, a failed ``complete()`` and a bad command line with the
whole traceback. When the exception (or one it was raised from) is a
:class:`~backends.errors.UfoEtlError`, its message already names the file, dataset
or setting, so :class:`OneLineErrors` logs ``<Luigi's message> <ErrorType>:
<message>`` instead. The traceback is not lost: it goes to the ``etl.errors``
logger at DEBUG level. Any other exception keeps its traceback.
"""

from __future__ import annotations

import logging
import re
from types import TracebackType

from backends.errors import UfoEtlError

log = logging.getLogger("etl.errors")

LUIGI_LOGGER = "luigi-interface"


def ufo_etl_error(error: BaseException | None) -> UfoEtlError | None:
    """The first :class:`UfoEtlError` in ``error``'s chain (``raise ... from``
    or raised while handling), or None.

    >>> from backends.errors import ConfigurationError
    >>> try:
    ...     try:
    ...         raise ConfigurationError("bad setting")
    ...     except ConfigurationError as e:
    ...         raise ValueError("while parsing") from e
    ... except ValueError as outer:
    ...     ufo_etl_error(outer)
    ConfigurationError('bad setting')
    >>> ufo_etl_error(KeyError("x")) is None
    True
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UfoEtlError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _error_names() -> set[str]:
    names: set[str] = set()
    pending: list[type[BaseException]] = [UfoEtlError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(?P<name>\w+): (?P<message>.*)$", re.MULTILINE)


def _without_traceback(message: str) -> str | None:
    r"""``message`` with a formatted traceback in it (as Luigi logs an error of
    ``complete()`` or ``requires()``) replaced by its last :class:`UfoEtlError`
    line; None when no such error is in it.

    >>> text = ("Will not run T() due to error in complete() method:\n"
    ...         "Traceback (most recent call last):\n"
    ...         '  File "x.py", line 1, in f\n'
    ...         "backends.errors.DatasetError: dataset 'x' is corrupt\n")
    >>> _without_traceback(text)
    "Will not run T() due to error in complete() method: DatasetError: dataset 'x' is corrupt"
    """
    head, found, trace = message.partition(_TRACEBACK)
    if not found:
        return None
    names = _error_names()
    errors = [m for m in _EXCEPTION_LINE.finditer(trace) if m.group("name") in names]
    if not errors:
        return None
    last = errors[-1]
    return f"{head.rstrip().rstrip(':')}: {last.group('name')}: {last.group('message')}"


class OneLineErrors(logging.Filter):
    """A filter for Luigi's logger that logs a :class:`UfoEtlError` as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            if isinstance(record.msg, str) and _TRACEBACK in record.msg:
                message = record.getMessage()
                one_line = _without_traceback(message)
                if one_line is not None:
                    log.debug("the traceback of: %s", message)
                    record.msg, record.args = one_line, ()
            return True
        cause = ufo_etl_error(record.exc_info[1])
        if cause is None:
            return True
        exc_info: tuple[type[BaseException], BaseException, TracebackType | None] = (
            type(record.exc_info[1]),
            record.exc_info[1],
            record.exc_info[2],
        )
        log.debug("the traceback of: %s", cause, exc_info=exc_info)
        record.msg = f"{record.getMessage()} {type(cause).__name__}: {cause}"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


def install() -> None:
    """Add :class:`OneLineErrors` to Luigi's logger, once."""
    luigi_log = logging.getLogger(LUIGI_LOGGER)
    if not any(isinstance(f, OneLineErrors) for f in luigi_log.filters):
        luigi_log.addFilter(OneLineErrors())
