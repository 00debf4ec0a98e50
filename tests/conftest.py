"""Session-scoped role accounts and factory fixtures shared by every test folder."""

import pytest

WAD = 10**18


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def make_feed(project, owner):
    """Deploy a MockV3Aggregator with `decimals` and an initial `answer` (in feed units)."""

    def make(decimals=8, answer=60_000 * 10**8):
        return owner.deploy(project.MockV3Aggregator, decimals, answer)

    return make


@pytest.fixture(scope="session")
def make_oracle(project, owner):
    """Deploy a ChainlinkOracle over `feed`; `sequencer` is an uptime feed or None."""

    def make(feed, heartbeat=3600, sequencer=None, grace_period=0):
        sequencer_address = sequencer.address if sequencer is not None else ZERO_ADDRESS
        return owner.deploy(project.ChainlinkOracle, feed, heartbeat, sequencer_address, grace_period)

    return make


@pytest.fixture(scope="session")
def make_token(project, owner):
    """Deploy a MockERC20 (EIP-2612 permit) with `decimals`."""

    def make(name="USD Coin", symbol="USDC", decimals=6):
        return owner.deploy(project.MockERC20, name, symbol, decimals)

    return make


ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
