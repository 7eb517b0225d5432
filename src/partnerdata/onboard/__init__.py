"""Aids for a maintainer who onboards a partner: the canonical fields (and, to come, a file's profile)."""
