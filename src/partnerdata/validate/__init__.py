"""Checks on typed rows: field rules, keys, within a source, across sources, privacy, findings, reports."""
