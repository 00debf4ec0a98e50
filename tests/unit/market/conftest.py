import pytest

from tests.conftest import WAD


@pytest.fixture
def ex18(make_exchange):
    """A market with 18-decimal collateral, where capital can be set to the wei."""
    return make_exchange(decimals=18)


def usd(x):
    """USD (int or str for exactness) -> WAD."""
    from decimal import Decimal

    return int(Decimal(str(x)) * WAD)
