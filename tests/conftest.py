from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs a fixed, larger search; locally the default profile stays quick.
settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="module")
def torch_one_thread():
    """torch at one intra-op thread for a test module (restored after it).

    The models in these tests are tiny or only traced: extra threads add OpenMP spin-wait overhead, which on this
    2-core machine under `pytest -n 2` made such modules several times slower.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
