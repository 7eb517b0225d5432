"""Tests of the collect stage: fetching, snapshots, history."""
