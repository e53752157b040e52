"""Test-suite configuration: a deterministic hypothesis profile and the practice hooks."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from tests import support

# Deterministic by design: the same examples on every run, no example database.
# "ci" is the default; `HYPOTHESIS_PROFILE=thorough` explores ten times more locally.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The tests use small tensors: one thread avoids oversubscribing two cores (pytest + torch's pool)
# and keeps results bit-for-bit repeatable. Benchmarks set their own thread count.
torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    support.CURRENT_TEST[0] = item.nodeid
