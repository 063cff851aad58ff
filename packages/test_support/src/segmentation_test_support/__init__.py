"""Test support shared by every package's tests (a pytest plugin; never installed in production)."""
