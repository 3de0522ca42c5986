"""One local Ray runtime for the scale tests (2 CPUs, quiet), shut down at the end."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_local():
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'artifactual[ray]'")
    from artifactual.scale.cluster import init_ray

    ray = init_ray(num_cpus=2, quiet=True)
    yield ray
    ray.shutdown()
