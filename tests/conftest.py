from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI runs a fixed, larger search; locally the default profile stays quick.
settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
