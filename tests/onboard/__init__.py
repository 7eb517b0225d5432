"""Tests of the onboarding aids: the canonical fields."""
