"""Errors that reach the user as one line each (the command line prints them without a traceback).

Config problems are reported all at once as `FILE:LINE: dotted.key: message`.
"""

from __future__ import annotations

from dataclasses import dataclass


class RdtuiError(Exception):
    """A failure explained in one line, without a traceback: exit status 1 (the work could not be done),
    unless the class (UsageError: 2) or the raiser says otherwise. Every command raises these; `core.cli`
    prints them and exits with `exit_status`."""

    exit_status = 1

    def __init__(self, message: str = "", exit_status: int | None = None):
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


class UsageError(RdtuiError):
    """Bad input: an option, argument, file or value the user gave that cannot work. Exit status 2."""

    exit_status = 2


class RunNotFound(RdtuiError):
    pass


class CorruptRun(RunNotFound):
    """A run folder whose run.json is unreadable or of the wrong shape: shown as one `corrupt` row."""


class InvalidRunId(UsageError):
    pass


class UnknownRun(RunNotFound):
    """A run id the user typed that names no run, or more than one: bad input."""

    exit_status = 2


class StoreUnwritable(RdtuiError):
    """The run store is a file (bad input, 2), read-only or full (1): said in one line."""


class InvalidTransition(RdtuiError):
    pass


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(UsageError):
    """Every problem in the config at once, one `FILE:LINE: key: message` line each."""

    def __init__(self, issues: list[ConfigIssue]):
        unique = list(dict.fromkeys(issues))
        unique.sort(key=lambda i: (i.file, i.line or 0, i.key))
        self.issues = unique
        super().__init__("\n".join(str(i) for i in unique))

    @property
    def errors(self) -> list[str]:
        return [str(i) for i in self.issues]
