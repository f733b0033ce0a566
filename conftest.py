"""Root conftest: keeps `pytest scenarios/` working from a plain checkout.

The harness's pytest plugin is also registered by its entry point (pytest11) under the same
name, so an installed checkout does not register it twice.
"""

# pytester lets tests/harness run the pytest plugin the way pytest tests itself; pytest only
# accepts `pytest_plugins` in the root conftest.
pytest_plugins = ["harness.pytest_plugin", "pytester"]
