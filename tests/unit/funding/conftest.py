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


def fill_ring(fr, sampler, mid, market_id=0):
    """Write all 30 ring slots with samples of mid `mid`: bid/ask alternate between `mid` and
    `mid -+ 1 wei` (the same mid), since an unchanged quote is refused."""
    for k in range(30):
        fr.recordQuote(market_id, mid - k % 2, mid + k % 2, sender=sampler)


def quote_ma30(fr, sampler, ma30, index=INDEX):
    """Make MA30 = `ma30` on a ring without quotes. The ring starts as 30 zero-premium samples
    (DESIGN section 6), so one sample of 30 x ma30 does it where the +-10 % sample clamp allows it;
    past the clamp, 30 samples of `ma30` replace the zeros."""
    if abs(30 * ma30) <= index // 10:
        fr.recordQuote(0, index + 30 * ma30, index + 30 * ma30, sender=sampler)
    else:
        fill_ring(fr, sampler, index + ma30)


def mine_at(chain, timestamp: int) -> None:
    """Mine one empty block at exactly `timestamp` (for views)."""
    chain.mine(1, timestamp=timestamp)
    assert chain.blocks.head.timestamp == timestamp


def next_tx_at(chain, timestamp: int) -> None:
    """The next transaction is mined at exactly `timestamp`."""
    chain.pending_timestamp = timestamp
