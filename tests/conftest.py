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


_MUTATION_COUNTS = {}


def pytest_runtest_logreport(report):
    """Collect the mutation test's counts per chapter (they travel with the report from an xdist worker)."""
    for name, value in getattr(report, "user_properties", ()):
        if name == "mutation_counts" and report.when == "call":
            _MUTATION_COUNTS[value[0]] = tuple(value[1:])


def pytest_terminal_summary(terminalreporter):
    """The mutation test's table of mutants and kill rates per chapter, when it ran."""
    if not _MUTATION_COUNTS:
        return
    write = terminalreporter.write_line
    write("")
    write("mutation testing of the checks (tests/test_mutation.py):")
    write("| chapter | exercises | mutants | equivalent | killed | reviewed | kill rate |")
    write("|---|---|---|---|---|---|---|")
    total = [0] * 5
    for ch, row in sorted(_MUTATION_COUNTS.items()):
        exs, n, eq, killed, rev = row
        total = [a + b for a, b in zip(total, row)]
        write(f"| {ch} | {exs} | {n} | {eq} | {killed} | {rev} | {killed / max(1, n - eq):.1%} |")
    exs, n, eq, killed, rev = total
    write(f"| all | {exs} | {n} | {eq} | {killed} | {rev} | {killed / max(1, n - eq):.1%} |")
