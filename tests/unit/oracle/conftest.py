import pytest


def mine_at(chain, timestamp):
    """Mine one block at exactly `timestamp`, so that views see block.timestamp == timestamp."""
    chain.mine(1, timestamp=timestamp)
    assert chain.blocks.head.timestamp == timestamp


@pytest.fixture
def feed(make_feed):
    return make_feed(8, 60_000 * 10**8)


@pytest.fixture
def oracle(make_oracle, feed):
    return make_oracle(feed, 3600)
