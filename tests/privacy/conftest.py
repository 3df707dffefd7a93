"""Privacy tests reuse the scenario harness (real processes, forms, demo users)."""

from tests.scenarios.conftest import flow  # noqa: F401  (fixture)
