import pytest

from app.customfields import values


@pytest.fixture(autouse=True)
def _fresh_definitions():
    # Each test's definitions are rolled back with its transaction: so is the process's cache.
    values.invalidate()
    yield
    values.invalidate()
