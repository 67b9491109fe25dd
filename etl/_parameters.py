"""Luigi parameters whose bad values fail with a :class:`ConfigurationError` that
names the setting: ``--date``, ``[etl] backend (--etl-backend)``, ...

Luigi's own parameters raise a bare ``ValueError`` ("oracle is not a valid choice
from {...}") that does not say which setting held the value; with the one-line
error logging of :mod:`etl._logging`, these errors print as one line instead of a
traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import luigi

from backends.errors import ConfigurationError

T = TypeVar("T")


class _NamedSetting(luigi.Parameter[T]):
    """Learns its own name from the class it is declared in (``__set_name__``) and
    turns a ``ValueError`` or ``TypeError`` of ``parse``/``normalize`` into a
    :class:`ConfigurationError` naming the setting."""

    setting = "a parameter"
    expected = ""
    """What a valid value looks like, e.g. ``a date YYYY-MM-DD``; empty: nothing said."""

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        if isinstance(owner, type) and issubclass(owner, luigi.Config):
            family = owner.get_task_family()
            flag = f"{family}_{name}".replace("_", "-")
            self.setting = f"[{family}] {name} (--{flag})"
        else:
            self.setting = "--" + name.replace("_", "-")

    def _refuse(self, value: Any, error: Exception) -> ConfigurationError:
        must = f" must be {self.expected}" if self.expected else ""
        return ConfigurationError(f"{self.setting}{must}, not {value!r}: {error}")

    def parse(self, x: Any) -> T:
        try:
            parsed: T = super().parse(x)
            return parsed
        except ConfigurationError:
            raise
        except (ValueError, TypeError) as e:
            raise self._refuse(x, e) from e

    def normalize(self, x: Any) -> T:
        # A value of the wrong type from Python code stays a TypeError.
        try:
            normalized: T = super().normalize(x)
            return normalized
        except ConfigurationError:
            raise
        except ValueError as e:
            raise self._refuse(x, e) from e


class DateParameter(_NamedSetting[dt.date], luigi.DateParameter):
    """``luigi.DateParameter``; a bad value raises :class:`ConfigurationError`.

    >>> import luigi
    >>> class ExampleRun(luigi.Task):
    ...     date = DateParameter()
    >>> ExampleRun.date.parse("2024-13-45")
    Traceback (most recent call last):
    ...
    backends.errors.ConfigurationError: --date must be a date YYYY-MM-DD, not '2024-13-45': time data '2024-13-45' does not match format '%Y-%m-%d'
    """  # noqa: E501

    expected = "a date YYYY-MM-DD"


class ChoiceParameter(_NamedSetting[str], luigi.ChoiceParameter[str]):
    """``luigi.ChoiceParameter``; a value outside the choices raises
    :class:`ConfigurationError` listing them in order.

    >>> import luigi
    >>> class example(luigi.Config):
    ...     backend = ChoiceParameter(choices=("duckdb", "spark"), default="duckdb")
    >>> example.backend.parse("oracle")
    Traceback (most recent call last):
    ...
    backends.errors.ConfigurationError: [example] backend (--example-backend) must be one of duckdb, spark, not 'oracle'
    """  # noqa: E501

    def normalize(self, x: Any) -> str:
        if x not in self._choices:
            choices = ", ".join(str(c) for c in sorted(self._choices))
            raise ConfigurationError(f"{self.setting} must be one of {choices}, not {x!r}")
        return super().normalize(x)


class IntParameter(_NamedSetting[int], luigi.IntParameter):
    """``luigi.IntParameter``; a value that is not an integer raises
    :class:`ConfigurationError`."""

    expected = "an integer"


class DictParameter(_NamedSetting[Any], luigi.DictParameter):
    """``luigi.DictParameter``; a value that is not a JSON object raises
    :class:`ConfigurationError`."""

    expected = "a JSON object"


class SettingParameter(_NamedSetting[str], luigi.Parameter):
    """A task parameter whose value, unless the task is given one, is a setting of
    a ``luigi.Config`` section: ``UFOPipeline --data-root X`` or, for every task
    at once, ``[etl] data_root`` in ``luigi.cfg`` or ``--etl-data-root X``.

    The value is part of the task's identity (Luigi's task id), so that two runs
    that differ in it are two tasks to the scheduler.

    Parameters
    ----------
    section
        The ``luigi.Config`` class holding the setting.
    name
        The setting's name in that section.
    check
        Normalises a value, raising ``ConfigurationError`` (or ``ValueError``)
        for a bad one.

    Examples
    --------
    >>> import luigi
    >>> class example_section(luigi.Config):
    ...     where = luigi.Parameter(default="/data")
    >>> class ExampleTask(luigi.Task):
    ...     where = SettingParameter(example_section, "where")
    >>> ExampleTask().where
    '/data'
    >>> ExampleTask(where="/other").where
    '/other'
    """

    def __init__(
        self,
        section: type[luigi.Config],
        name: str,
        check: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._section = section
        self._setting_name = name
        self._check = check

    def _value_iterator(self, task_name: str, param_name: str) -> Any:
        yield from super()._value_iterator(task_name, param_name)
        yield getattr(self._section(), self._setting_name), None

    def normalize(self, x: Any) -> str:
        value = super().normalize(x)
        if self._check is None:
            return str(value)
        try:
            return str(self._check(value))
        except ConfigurationError:
            raise
        except ValueError as e:
            raise self._refuse(value, e) from e
