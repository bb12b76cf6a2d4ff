"""Hardening tests reuse the chaos fixtures: real `rbm-service` processes on the test's database."""

from tests.chaos.conftest import pytest_runtest_makereport, spawn  # noqa: F401  (fixtures by import)
