"""Aids for a maintainer who onboards a partner: the canonical fields, and a draft source entry from a file's profile."""
