"""A stale, zero or negative oracle answer: no trade, no withdrawal with a position and no
liquidation may use it (each refused with the oracle's custom error); a flat account still takes
all its capital out (DESIGN invariant 7.6)."""

import pytest

from tests.adversarial.conftest import BTC, usd
from tests.conftest import FEED_DECIMALS, WAD
from tests.reverts import reverts

HEARTBEAT = 86_400  # the test exchange's oracle heartbeat


def _break(ex, chain, how):
    """Put the feed in state `how`; returns the oracle error and its arguments for the next block."""
    if how == "zero":
        ex.feed.updateAnswer(0, sender=ex.owner)
        return ex.oracle.OracleAnswerNotPositive, dict(answer=0)
    if how == "negative":
        ex.feed.updateAnswer(-1, sender=ex.owner)
        return ex.oracle.OracleAnswerNotPositive, dict(answer=-1)
    updated = chain.blocks.head.timestamp - HEARTBEAT
    ex.feed.updateRoundData(9, 60_000 * 10**FEED_DECIMALS, updated, updated, sender=ex.owner)
    now = chain.blocks.head.timestamp + 1
    chain.pending_timestamp = now
    return ex.oracle.OracleStale, dict(updatedAt=updated, heartbeat=HEARTBEAT, blockTimestamp=now)


@pytest.mark.parametrize("how", ["stale", "zero", "negative"])
def test_bad_oracle_answer__trade_withdraw_liquidate_refused__flat_account_withdraws_all(
    ex, chain, ledger, alice, bob, carol, keeper, how
):
    m = ex.market
    for who in (alice, bob, keeper):
        ledger.deposit(who, usd(10_000))
    ledger.deposit(carol, usd(1_000) + 7)  # flat the whole time
    ex.trade(bob, alice, -WAD // 10, BTC)  # alice long 0.1 BTC against bob
    state = [m.accountOf(a) for a in (alice, bob, carol, keeper)]

    def refused():
        error, args = _break(ex, chain, how)
        return reverts(error, **args)

    # the attacker wants to trade, take out profit or liquidate at a price nobody can vouch for
    with refused():
        ex.trade(bob, alice, WAD // 10, BTC)
    with refused():
        ex.router.withdraw(ex.market_id, 1, sender=alice)
    with refused():
        m.liquidate(alice, WAD // 10, sender=keeper)
    assert [m.accountOf(a) for a in (alice, bob, carol, keeper)] == state  # nothing moved

    # invariant 6: a flat account leaves with all of its capital, no price needed
    _break(ex, chain, how)
    ledger.withdraw(carol, usd(1_000) + 7)
    assert ledger.net(carol) == 0
    assert m.capitalOf(carol) == 0
