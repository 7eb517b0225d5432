"""Tests of the validate stage: checks (against frictionless-py), privacy, reports."""
