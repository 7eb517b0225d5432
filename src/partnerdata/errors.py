"""Exceptions that carry a message a maintainer can act on.

Each one maps to an exit status of ``partnerdata run`` (see DESIGN.md).
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


class NoTrustworthyRelease(PartnerdataError):
    """Nothing could be published; published/ was left as it was (exit status 1)."""

    exit_status = 1


class LockTimeout(PartnerdataError):
    """Another run holds the lock on the working folders (exit status 4)."""

    exit_status = 4
