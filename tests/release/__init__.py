"""Tests of the release stage: versions, withdrawals, purges, crashes, writers."""
