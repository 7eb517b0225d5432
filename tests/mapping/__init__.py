"""Tests of the mapping stage: columns, labels, coercion."""
