"""Shared test settings: hypothesis profiles and small helpers."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_terminal_summary(terminalreporter):
    """The mutation test's table of mutants and kill rates per chapter, when it ran."""
    import sys
    mod = sys.modules.get("test_mutation")
    if mod is not None and getattr(mod, "_RESULTS", None):
        terminalreporter.write_line("")
        for line in mod.summary_lines():
            terminalreporter.write_line(line)
