"""Errors that reach the user as one line each (the command line prints them without a traceback).

Config problems are reported all at once as `FILE:LINE: dotted.key: message`.
"""

from __future__ import annotations

from dataclasses import dataclass


class RdtuiError(Exception):
    """A failure caused by input or environment, explained in one line."""

    exit_status = 1


class RunNotFound(RdtuiError):
    pass


class CorruptRun(RunNotFound):
    """A run folder whose run.json is unreadable or of the wrong shape: shown as one `corrupt` row."""


class InvalidRunId(RdtuiError):
    exit_status = 2


class UnknownRun(RunNotFound):
    """A run id the user typed that names no run, or more than one: bad input."""

    exit_status = 2


class StoreUnwritable(RdtuiError):
    """The run store is a file (bad input, 2), read-only or full (1): said in one line."""

    def __init__(self, message: str, exit_status: int = 1):
        super().__init__(message)
        self.exit_status = exit_status


class InvalidTransition(RdtuiError):
    pass


class BadInput(RdtuiError):
    """An option or argument the user gave that cannot work: exit status 2."""

    exit_status = 2


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(RdtuiError):
    exit_status = 2

    def __init__(self, issues: list[ConfigIssue]):
        unique = list(dict.fromkeys(issues))
        unique.sort(key=lambda i: (i.file, i.line or 0, i.key))
        self.issues = unique
        super().__init__("\n".join(str(i) for i in unique))

    @property
    def errors(self) -> list[str]:
        return [str(i) for i in self.issues]
