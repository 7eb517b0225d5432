"""Fetching partner files into write-once raw snapshots: fetch, pagination, snapshots, history, lock."""
