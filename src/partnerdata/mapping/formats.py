"""String formats (email, uri), decided exactly as frictionless-py decides them.

frictionless-py checks an e-mail address with the ``validators`` package and a URI
with ``rfc3986`` (a scheme is required). Calling them for every cell of a large
column would cost a Python call per cell, so each format has two regular
expressions that Arrow evaluates over the whole column: one that only surely valid
values match, one that every valid value matches. Only the values in between (few,
in practice) go to the reference check, once per distinct value. The tests hold
both expressions to that promise against the reference check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


def _email(value: str) -> bool:
    import validators

    return bool(validators.email(value))


def _uri(value: str) -> bool:
    import rfc3986
    from rfc3986 import exceptions, validators

    checker = validators.Validator().require_presence_of("scheme")
    try:
        checker.validate(rfc3986.uri_reference(value))
    except exceptions.ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Format:
    surely_valid: str  # RE2 and Python re read it the same way
    maybe_valid: str
    max_fast_length: int  # longer values go to the reference check
    reference: Callable[[str], bool]

    def __call__(self, column: pa.Array) -> pa.Array:
        """True where the value has the format (null where the value is null)."""
        short = pc.less_equal(pc.utf8_length(column), self.max_fast_length)
        sure = pc.and_(short, pc.match_substring_regex(column, self.surely_valid))
        maybe = pc.match_substring_regex(column, self.maybe_valid)
        undecided = pc.fill_null(pc.and_(maybe, pc.invert(sure)), False)
        if not pc.any(undecided).as_py():
            return sure
        distinct = pc.unique(pc.filter(column, undecided))
        valid = pa.array([self.reference(value) for value in distinct.to_pylist()], pa.bool_())
        decided = pc.fill_null(pc.take(valid, pc.index_in(column, value_set=distinct)), False)
        return pc.if_else(undecided, decided, sure)


FORMATS: dict[str, Format] = {
    "email": Format(
        surely_valid=r"^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$",
        maybe_valid=r"^[^@]+@[^@]+$",
        max_fast_length=64,
        reference=_email,
    ),
    "uri": Format(
        surely_valid=r"^[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*$",
        maybe_valid=r"^[A-Za-z][A-Za-z0-9+.-]*:",
        max_fast_length=2000,
        reference=_uri,
    ),
}
