"""PythOracle over MockPyth: every path of price(), each custom error with its arguments; the
mock's own Pyth behaviour (newest update wins, update fee, unknown feed)."""

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ZERO_ADDRESS
from tests.unit.oracle.conftest import mine_at

BTC_ID = bytes.fromhex("e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43")  # Pyth BTC/USD
MAX_AGE = 60
MAX_CONF = 2 * 10**16  # 2 % of the price
PRICE, EXPO = 6_012_345_678_901, -8  # 60,123.45678901 USD


@pytest.fixture
def pyth(project, owner):
    return owner.deploy(project.MockPyth, 0)


@pytest.fixture
def make_pyth_oracle(project, owner, pyth):
    def make(price_id=BTC_ID, max_age=MAX_AGE, max_conf=MAX_CONF):
        return owner.deploy(project.PythOracle, pyth, price_id, max_age, max_conf)

    return make


@pytest.fixture
def oracle(make_pyth_oracle):
    return make_pyth_oracle()


def publish(chain, pyth, owner, price=PRICE, conf=PRICE // 1_000, expo=EXPO, at=None):
    """Set BTC's price published at `at` (default: the head block's time, never ahead of a view's
    block) and return that time."""
    at = chain.blocks.head.timestamp if at is None else at
    pyth.setPrice(BTC_ID, price, conf, expo, at, sender=owner)
    return at


def test_constructor__records_parameters(oracle, pyth):
    assert (oracle.pyth(), oracle.priceId(), oracle.maxAge(), oracle.maxConfidence()) == (
        pyth.address, BTC_ID, MAX_AGE, MAX_CONF)


def test_constructor__zero_pyth_reverts(project, owner):
    with ape.reverts(project.PythOracle.ZeroAddress):
        owner.deploy(project.PythOracle, ZERO_ADDRESS, BTC_ID, MAX_AGE, MAX_CONF)


@pytest.mark.parametrize("max_age", [0, 86_401])
def test_constructor__max_age_out_of_bounds_reverts(project, owner, pyth, max_age):
    with ape.reverts(project.PythOracle.OracleHeartbeatOutOfBounds, heartbeat=max_age, maxHeartbeat=86_400):
        owner.deploy(project.PythOracle, pyth, BTC_ID, max_age, MAX_CONF)


@pytest.mark.parametrize("max_conf", [0, 10**17 + 1])
def test_constructor__confidence_bound_out_of_bounds_reverts(project, owner, pyth, max_conf):
    with ape.reverts(project.PythOracle.PythConfidenceBoundOutOfBounds, maxConfidence=max_conf,
                     maxConfidenceBound=10**17):
        owner.deploy(project.PythOracle, pyth, BTC_ID, MAX_AGE, max_conf)


@pytest.mark.parametrize(
    "price, expo, expected_wad",
    [
        (PRICE, -8, 60_123_456_789_010 * 10**9),  # BTC/USD's exponent
        (99_995_123, -8, 999_951_230_000_000_000),  # USDC/USD
        (2**63 - 1, -18, 2**63 - 1),  # an exponent of -18 is WAD already
        (3_456, 0, 3_456 * 10**18),
    ],
)
def test_price__scales_exponent_to_wad(chain, oracle, pyth, owner, price, expo, expected_wad):
    publish(chain, pyth, owner, price=price, conf=0, expo=expo)
    assert oracle.price() == expected_wad
    assert oracle.tryPrice() == (True, expected_wad)


@pytest.mark.parametrize("price", [0, -1, -(2**63)])
def test_price__non_positive_price_reverts(chain, oracle, pyth, owner, price):
    publish(chain, pyth, owner, price=price, conf=0)
    with ape.reverts(oracle.OracleAnswerNotPositive, answer=price):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_price__unknown_feed_reverts_as_the_feed_reverting(oracle, pyth, make_pyth_oracle):
    """MockPyth, as Pyth, reverts PriceFeedNotFound for an id never published."""
    other = make_pyth_oracle(price_id=b"\x01" * 32)
    with ape.reverts(other.OracleFeedReverted, feed=pyth.address):
        other.price()
    assert other.tryPrice() == (False, 0)


def test_price__reverting_pyth_reverts(chain, oracle, pyth, owner):
    publish(chain, pyth, owner)
    pyth.setReverting(True, sender=owner)
    with ape.reverts(oracle.OracleFeedReverted, feed=pyth.address):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_price__published_in_future_reverts(chain, oracle, pyth, owner):
    now = chain.blocks.head.timestamp + 10
    publish(chain, pyth, owner, at=now + 1)
    mine_at(chain, now)
    with ape.reverts(oracle.OracleUpdatedInFuture, updatedAt=now + 1, blockTimestamp=now):
        oracle.price()


def test_price__at_exactly_max_age_is_fresh_and_one_second_later_stale(chain, oracle, pyth, owner):
    published = publish(chain, pyth, owner, at=chain.blocks.head.timestamp + 10)
    mine_at(chain, published + MAX_AGE)
    assert oracle.price() == PRICE * 10**10

    mine_at(chain, published + MAX_AGE + 1)
    with ape.reverts(oracle.OracleStale, updatedAt=published, heartbeat=MAX_AGE,
                     blockTimestamp=published + MAX_AGE + 1):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


@pytest.mark.parametrize("expo", [-19, 1, -(2**31), 2**31 - 1])
def test_price__exponent_outside_minus_18_to_0_reverts(chain, oracle, pyth, owner, expo):
    publish(chain, pyth, owner, conf=0, expo=expo)
    with ape.reverts(oracle.PythExponentUnsupported, expo=expo):
        oracle.price()


def test_price__confidence_at_the_bound_passes_and_one_unit_wider_reverts(chain, oracle, pyth, owner):
    price = 6_000_000_000_000  # 60,000.00000000: 2 % of it is 1,200.00000000, a whole number of units
    bound = price * MAX_CONF // 10**18
    publish(chain, pyth, owner, price=price, conf=bound)
    assert oracle.price() == price * 10**10

    publish(chain, pyth, owner, price=price, conf=bound + 1)
    with ape.reverts(oracle.PythConfidenceTooWide, conf=bound + 1, price=price, maxConfidence=MAX_CONF):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_mock_update_price_feeds__newest_wins_and_fee_is_charged(chain, project, owner, accounts):
    """The mock behaves as Pyth: an update older than the stored one is ignored; each update
    costs the fee, and less than it is refused with InsufficientFee."""
    pyth = owner.deploy(project.MockPyth, 7)
    oracle = owner.deploy(project.PythOracle, pyth, BTC_ID, MAX_AGE, MAX_CONF)
    now = chain.blocks.head.timestamp
    newer = pyth.createPriceFeedUpdateData(BTC_ID, 6_100_000_000_000, 0, -8, now)
    older = pyth.createPriceFeedUpdateData(BTC_ID, 5_900_000_000_000, 0, -8, now - 5)
    assert pyth.getUpdateFee([newer, older]) == 14
    with ape.reverts(project.MockPyth.InsufficientFee):
        pyth.updatePriceFeeds([newer, older], sender=owner, value=13)

    tx = pyth.updatePriceFeeds([newer, older], sender=owner, value=14)
    assert [(e.id, e.publishTime, e.price) for e in tx.events] == [(BTC_ID, now, 6_100_000_000_000)]
    assert oracle.price() == 61_000 * 10**18
    p = pyth.getPriceNoOlderThan(BTC_ID, 60)
    assert (p.price, p.conf, p.expo, p.publishTime) == (6_100_000_000_000, 0, -8, now)


def test_mock_get_price_no_older_than__stale_reverts(chain, project, owner, pyth):
    published = publish(chain, pyth, owner, at=chain.blocks.head.timestamp + 10)
    mine_at(chain, published + 61)
    with ape.reverts(project.MockPyth.StalePrice):
        pyth.getPriceNoOlderThan(BTC_ID, 60)


@pytest.fixture(scope="module")
def by_expo():
    return {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expo=st.integers(min_value=-18, max_value=0), price=st.integers(min_value=1, max_value=2**63 - 1))
def test_price__wad_scaling_is_exact(chain, oracle, pyth, owner, expo, price):
    """For every exponent in [-18, 0] and positive int64 price: exactly price * 10**(18 + expo)."""
    pyth.setPrice(BTC_ID, price, 0, expo, chain.blocks.head.timestamp, sender=owner)
    assert oracle.price() == price * 10 ** (18 + expo)
