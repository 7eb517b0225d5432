"""Tests of the readers, one per format (conformance tests on the reference files included)."""
