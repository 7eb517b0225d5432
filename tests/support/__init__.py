"""Shared support of the tests: the partner server, hostile files, release data, crash helpers."""
