"""Tests of the helpers: redaction, safe text."""
