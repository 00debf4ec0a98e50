"""ChainlinkOracle: every path of price(), each custom error with its arguments."""

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ZERO_ADDRESS
from tests.unit.oracle.conftest import mine_at

HEARTBEAT = 3600


@pytest.mark.parametrize(
    "decimals, answer, expected_wad",
    [
        (6, 1_000_123, 1_000_123 * 10**12),  # USDC/USD-like
        (8, 6_012_345_678_901, 60_123_456_789_010 * 10**9),  # BTC/USD
        (18, 2_345 * 10**18 + 1, 2_345 * 10**18 + 1),  # ETH-denominated feeds
        (0, 7, 7 * 10**18),
    ],
)
def test_price__scales_feed_decimals_to_wad(make_feed, make_oracle, decimals, answer, expected_wad):
    oracle = make_oracle(make_feed(decimals, answer), HEARTBEAT)
    assert oracle.feedDecimals() == decimals
    assert oracle.price() == expected_wad
    assert oracle.tryPrice() == (True, expected_wad)


def test_constructor__records_parameters(make_feed, make_oracle):
    feed, sequencer = make_feed(8, 1), make_feed(0, 0)
    oracle = make_oracle(feed, 86_400, sequencer, 3600)
    assert oracle.feed() == feed.address
    assert oracle.heartbeat() == 86_400
    assert oracle.sequencerFeed() == sequencer.address
    assert oracle.gracePeriod() == 3600


def test_constructor__zero_feed_reverts(project, owner):
    with ape.reverts(project.ChainlinkOracle.ZeroAddress):
        owner.deploy(project.ChainlinkOracle, ZERO_ADDRESS, HEARTBEAT, ZERO_ADDRESS, 0)


@pytest.mark.parametrize("heartbeat", [0, 2 * 86_400 + 1])
def test_constructor__heartbeat_out_of_bounds_reverts(project, owner, feed, heartbeat):
    with ape.reverts(
        project.ChainlinkOracle.OracleHeartbeatOutOfBounds, heartbeat=heartbeat, maxHeartbeat=2 * 86_400
    ):
        owner.deploy(project.ChainlinkOracle, feed, heartbeat, ZERO_ADDRESS, 0)


def test_constructor__grace_period_out_of_bounds_reverts(project, owner, feed):
    with ape.reverts(
        project.ChainlinkOracle.OracleGracePeriodOutOfBounds, gracePeriod=86_401, maxGracePeriod=86_400
    ):
        owner.deploy(project.ChainlinkOracle, feed, HEARTBEAT, feed, 86_401)


def test_constructor__more_than_18_decimals_reverts(project, owner, make_feed):
    with ape.reverts(project.ChainlinkOracle.OracleDecimalsUnsupported, decimals=19):
        owner.deploy(project.ChainlinkOracle, make_feed(19, 1), HEARTBEAT, ZERO_ADDRESS, 0)


def test_constructor__reverting_feed_reverts(project, owner, feed):
    feed.setReverting(True, sender=owner)
    with ape.reverts(project.ChainlinkOracle.OracleFeedReverted, feed=feed.address):
        owner.deploy(project.ChainlinkOracle, feed, HEARTBEAT, ZERO_ADDRESS, 0)


@pytest.mark.parametrize("answer", [0, -1, -(60_000 * 10**8)])
def test_price__non_positive_answer_reverts(oracle, feed, owner, answer):
    feed.updateAnswer(answer, sender=owner)
    with ape.reverts(oracle.OracleAnswerNotPositive, answer=answer):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_price__round_never_updated_reverts(oracle, feed, owner):
    feed.updateRoundData(7, 60_000 * 10**8, 0, 0, sender=owner)
    with ape.reverts(oracle.OracleRoundNotUpdated, roundId=7):
        oracle.price()


def test_price__updated_in_future_reverts(chain, oracle, feed, owner):
    now = chain.blocks.head.timestamp + 10
    feed.updateRoundData(2, 60_000 * 10**8, now + 1, now + 1, sender=owner)
    mine_at(chain, now)
    with ape.reverts(oracle.OracleUpdatedInFuture, updatedAt=now + 1, blockTimestamp=now):
        oracle.price()


def test_price__at_exactly_heartbeat_is_fresh_and_one_second_later_stale(chain, oracle, feed, owner):
    updated = chain.blocks.head.timestamp + 10
    feed.updateRoundData(2, 61_000 * 10**8, updated, updated, sender=owner)
    mine_at(chain, updated + HEARTBEAT)
    assert oracle.price() == 61_000 * 10**18

    mine_at(chain, updated + HEARTBEAT + 1)
    with ape.reverts(
        oracle.OracleStale, updatedAt=updated, heartbeat=HEARTBEAT, blockTimestamp=updated + HEARTBEAT + 1
    ):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_price__incomplete_round_reverts(oracle, feed, owner):
    feed.updateAnswer(62_000 * 10**8, sender=owner)  # round 2
    feed.setAnsweredInRound(1, sender=owner)
    with ape.reverts(oracle.OracleRoundIncomplete, roundId=2, answeredInRound=1):
        oracle.price()


def test_price__reverting_feed_reverts(oracle, feed, owner):
    feed.setReverting(True, sender=owner)
    with ape.reverts(oracle.OracleFeedReverted, feed=feed.address):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_price__answer_overflowing_wad_reverts(oracle, feed, owner):
    huge = 2**255 - 1
    feed.updateAnswer(huge, sender=owner)
    with ape.reverts(oracle.OracleAnswerTooLarge, answer=huge):
        oracle.price()


def test_price__follows_latest_round(oracle, feed, owner):
    for answer in (59_000 * 10**8, 58_123_45678901):
        feed.updateAnswer(answer, sender=owner)
        assert oracle.price() == answer * 10**10


# ------------------------------------------------------------------ L2 sequencer feed
GRACE = 3600


@pytest.fixture
def sequencer(make_feed):
    return make_feed(0, 0)  # answer 0 = up


def _sequencer_oracle(make_oracle, feed, sequencer):
    return make_oracle(feed, HEARTBEAT, sequencer, GRACE)


def test_sequencer__grace_window_edges(chain, make_oracle, feed, sequencer, owner):
    oracle = _sequencer_oracle(make_oracle, feed, sequencer)
    up_since = chain.blocks.head.timestamp + 10
    sequencer.updateRoundData(2, 0, up_since, up_since, sender=owner)
    feed.updateRoundData(2, 60_000 * 10**8, up_since + GRACE, up_since + GRACE, sender=owner)

    mine_at(chain, up_since + GRACE)  # exactly at the end of the grace period: still refused
    with ape.reverts(
        oracle.SequencerGracePeriodNotOver, upSince=up_since, gracePeriod=GRACE, blockTimestamp=up_since + GRACE
    ):
        oracle.price()

    mine_at(chain, up_since + GRACE + 1)  # one second later: prices flow
    assert oracle.price() == 60_000 * 10**18


def test_sequencer__down_reverts(make_oracle, feed, sequencer, owner):
    oracle = _sequencer_oracle(make_oracle, feed, sequencer)
    sequencer.updateAnswer(1, sender=owner)
    with ape.reverts(oracle.SequencerDown, answer=1):
        oracle.price()
    assert oracle.tryPrice() == (False, 0)


def test_sequencer__round_without_start_reverts(make_oracle, feed, sequencer, owner):
    oracle = _sequencer_oracle(make_oracle, feed, sequencer)
    sequencer.updateRoundData(3, 0, 0, 0, sender=owner)
    with ape.reverts(oracle.SequencerStatusInvalid, sequencerFeed=sequencer.address):
        oracle.price()


def test_sequencer__reverting_feed_reverts(make_oracle, feed, sequencer, owner):
    oracle = _sequencer_oracle(make_oracle, feed, sequencer)
    sequencer.setReverting(True, sender=owner)
    with ape.reverts(oracle.SequencerStatusInvalid, sequencerFeed=sequencer.address):
        oracle.price()


# ------------------------------------------------------------------ property
@pytest.fixture(scope="module")
def oracles_by_decimals():
    return {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    decimals=st.integers(min_value=0, max_value=18),
    answer=st.one_of(st.integers(min_value=1, max_value=10**30), st.integers(min_value=1, max_value=2**255 - 1)),
)
def test_price__wad_scaling_is_exact(make_feed, make_oracle, owner, oracles_by_decimals, decimals, answer):
    """For every decimals in 0..18 and positive answer: exactly answer * 10**(18 - decimals),
    or OracleAnswerTooLarge where that does not fit in uint256 (never a wrapped value)."""
    if decimals not in oracles_by_decimals:
        feed = make_feed(decimals, 1)
        oracles_by_decimals[decimals] = (feed, make_oracle(feed, HEARTBEAT))
    feed, oracle = oracles_by_decimals[decimals]
    feed.updateAnswer(answer, sender=owner)
    expected = answer * 10 ** (18 - decimals)
    if expected < 2**256:
        assert oracle.price() == expected
    else:
        with ape.reverts(oracle.OracleAnswerTooLarge, answer=answer):
            oracle.price()
