"""Tests of the config stage: sources.yaml and the schemas."""
