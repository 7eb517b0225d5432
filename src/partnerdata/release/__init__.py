"""Versioned releases in published/: store (read side), diff, changelog, write, publish, withdraw, purge."""
