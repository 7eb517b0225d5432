"""Exceptions that carry a message a maintainer can act on.

Each one maps to an exit status of ``partnerdata run`` (see DESIGN.md).

Whose fault a failure is decides what happens to a partner's snapshot (README, "Security and
limits"): a ``PartnerFileError`` (raised by partnerdata by name, or by a parser of the partner's
bytes, see ``partnerdata.readers.guard``) refuses the snapshot for good; any other exception while
a snapshot is read, mapped or checked is a defect of partnerdata, which never marks a snapshot bad.
"""


class PartnerdataError(Exception):
    """Base class: ``str(error)`` is the message shown to the maintainer."""

    exit_status = 1


class ConfigError(PartnerdataError):
    """sources.yaml or a schema is wrong; nothing was fetched (exit status 2)."""

    exit_status = 2


class SourceError(PartnerdataError):
    """One source could not be fetched or read; the run goes on without it."""

    def __init__(self, source_id: str, message: str) -> None:
        super().__init__(f"source {source_id}: {message}")
        self.source_id = source_id


class PartnerFileError(PartnerdataError):
    """The partner's file cannot be used as delivered: unreadable, not the format it should be,
    its columns drifted, or past one of the source's limits. The snapshot is refused (for good:
    it is never offered as a fallback), and the source falls back to its last good snapshot.

    ``str(error)`` is the maintainer's text: the problem, then ``hint``, what a maintainer may change
    (sources.yaml); ``problem`` alone is what the partner's letter says."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{problem}; {hint}" if hint else problem)
        self.problem = problem
        self.hint = hint


class LimitExceeded(PartnerFileError):
    """A reader stopped at one of the source's limits (``max_bytes``, ``max_cells``, ...), before
    the file could exhaust the machine. ``limit`` names the sources.yaml key."""

    def __init__(self, limit: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.limit = limit


class UsageError(PartnerdataError):
    """An argument a person typed names nothing that exists, or is not safe to act on (exit status 2):
    a destructive command does nothing rather than guess."""

    exit_status = 2


class NoTrustworthyRelease(PartnerdataError):
    """Nothing could be published; published/ was left as it was (exit status 1)."""

    exit_status = 1


class LockTimeout(PartnerdataError):
    """Another run holds the lock on the working folders (exit status 4)."""

    exit_status = 4
