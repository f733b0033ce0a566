"""Root conftest: keeps `pytest scenarios/` working from a plain checkout."""
