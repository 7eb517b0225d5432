"""Every exception partnerdata raises on purpose, and the exit status each one means.

Three kinds of failure, and what each does to a run (README, "Exit status" and "Security and limits"):

- a partner's problem is a ``SourceError``: the source's file could not be fetched (the server, the
  network, a limit while downloading) or cannot be used as delivered (``PartnerFileError``: unreadable,
  not its format, drifted columns, past a reader's limit). It stays that source's: the run goes on
  with the source's last good snapshot, or without it, and exits 3 (``DEGRADED``). Its text names the
  source and what to change; ``problem`` alone is what the partner's letter says;
- a configuration problem is a ``ConfigError`` (sources.yaml, a schema) or a ``UsageError`` (an
  argument a person typed): nothing is fetched or changed, exit 2;
- anything else is a defect of partnerdata: it is never blamed on a partner (it never marks a
  snapshot bad) and fails the run loudly, exit 1.

A parser's failure on partner bytes becomes the partner's ``PartnerFileError`` through
``partnerdata.readers.guard``; thresholds judged on a readable file are ``run.judge.Refusal`` values.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class ExitStatus(enum.IntEnum):
    """The exit statuses of ``partnerdata`` and of the flows' results (README, "Exit status")."""

    OK = 0  # a release is current and every source was used as delivered
    NO_RELEASE = 1  # nothing trustworthy could be published, or a defect stopped the run
    CONFIG = 2  # sources.yaml, a schema or an argument is wrong; nothing was fetched or changed
    DEGRADED = 3  # published (or nothing changed), but a source failed: its last good data, or none, was used;
    # for ``partnerdata validate``: some rows would be rejected (the file would be used)
    LOCKED = 4  # another run holds the lock on the working folders
    REFUSED = 5  # ``partnerdata validate``: the file would be refused as a whole (unreadable, drift, a threshold)


class PartnerdataError(Exception):
    """Base class: ``str(error)`` is the message shown to the maintainer."""

    exit_status: ClassVar[ExitStatus] = ExitStatus.NO_RELEASE


class ConfigError(PartnerdataError):
    """sources.yaml or a schema is wrong; nothing was fetched."""

    exit_status = ExitStatus.CONFIG


class UsageError(PartnerdataError):
    """An argument a person typed names nothing that exists, or is not safe to act on: a destructive
    command does nothing rather than guess."""

    exit_status = ExitStatus.CONFIG


class SourceError(PartnerdataError):
    """A partner's problem with one source; the run goes on without it (or with its last good data).

    ``str(error)`` is "source ID: problem; hint" (the source when it is known where it is raised):
    ``problem`` says what is wrong with what the partner delivered, ``hint`` what a maintainer may change."""

    exit_status = ExitStatus.DEGRADED

    def __init__(self, source_id: str | None, problem: str, hint: str | None = None) -> None:
        text = f"{problem}; {hint}" if hint else problem
        super().__init__(f"source {source_id}: {text}" if source_id else text)
        self.source_id = source_id
        self.problem = problem
        self.hint = hint


class PartnerFileError(SourceError):
    """The partner's file cannot be used as delivered: unreadable, not the format it should be,
    its columns drifted, or past one of the source's limits. The snapshot is refused (for good:
    it is never offered as a fallback), and the source falls back to its last good snapshot.

    Raised where the file is read, which does not know the source: ``str(error)`` is the problem,
    then ``hint``, what a maintainer may change (sources.yaml); ``problem`` alone is what the
    partner's letter says."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        super().__init__(None, problem, hint)


class LimitExceeded(PartnerFileError):
    """A reader stopped at one of the source's limits (``max_bytes``, ``max_cells``, ...), before
    the file could exhaust the machine. ``limit`` names the sources.yaml key."""

    def __init__(self, limit: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.limit = limit


class NoTrustworthyRelease(PartnerdataError):
    """Nothing could be published; published/ was left as it was."""

    exit_status = ExitStatus.NO_RELEASE


class LockTimeout(PartnerdataError):
    """Another run holds the lock on the working folders."""

    exit_status = ExitStatus.LOCKED
