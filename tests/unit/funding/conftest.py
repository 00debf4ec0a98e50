import pytest

from tests.conftest import BTC_PRICE, WAD

INDEX = BTC_PRICE * WAD  # the oracle price of a fresh exchange, WAD


@pytest.fixture(scope="module")
def ex(make_exchange):
    """One exchange per module (ape's isolation reverts each test's transactions): a deployment
    costs about a second, and these tests need no other."""
    return make_exchange()


@pytest.fixture
def fr(ex):
    """The exchange's FundingRate; market 0 is registered, `matcher` is the sampler."""
    return ex.funding
