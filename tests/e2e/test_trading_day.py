"""A trading day through the real 5 August 2024 crash (Coinbase hourly candles, data/).

Every hour: the feed moves to the candle's close, the matcher records a quote, funding is
cranked, takers trade against a market maker, and the keeper liquidates whoever fell below
maintenance. After every hour all market invariants hold; at the end everyone closes and
withdraws, and funding summed over all settlements is zero up to rounding dust kept by the market.
"""

import csv
from pathlib import Path

import pytest

from perpkit.invariants import check_market, failures
from tests.conftest import WAD

CANDLES = Path(__file__).parents[2] / "data" / "btc-usd-1h-2024-08.csv"
START, HOURS = "2024-08-04 12:00", 36


def _closes():
    rows = [r for r in csv.DictReader(CANDLES.open()) if r["date"][:16] >= START][:HOURS]
    return [float(r["close"]) for r in rows]


def _usd_wad(x):
    return int(round(x * 100)) * 10**16


@pytest.fixture
def day(make_exchange, accounts):
    closes = _closes()
    ex = make_exchange(price=int(closes[0]))
    return ex, closes


def test_trading_day__crash_liquidates_and_invariants_hold(chain, day, alice, bob, carol, keeper, accounts, matcher):
    ex, closes = day
    mm = accounts[7]
    traders = {alice: (WAD, 8), bob: (-WAD // 2, 3), carol: (3 * WAD // 10, 2)}  # size, leverage
    everyone = [alice, bob, carol, keeper, mm]
    ex.fund(mm, 2_000_000 * 10**6)
    ex.fund(keeper, 1_000_000 * 10**6)

    first = _usd_wad(closes[0])
    for trader, (size, leverage) in traders.items():
        notional = abs(size) * first // WAD
        ex.fund(trader, (notional // leverage + notional // 500) // 10**12 + 1)  # margin + fees
        ex.trade(mm, trader, -size, first)

    receipts, liquidated = [], []
    for hour, close in enumerate(closes[1:], start=1):
        chain.pending_timestamp = chain.blocks.head.timestamp + 3600
        ex.set_price(close)
        index = _usd_wad(close)
        spread = index // 2000
        receipts.append(ex.funding.recordQuote(ex.market_id, index - spread + hour * 10**16, index + spread, sender=matcher))
        receipts.append(ex.funding.crank(ex.market_id, sender=keeper))
        for trader in traders:
            if ex.market.isLiquidatable(trader):
                size = ex.market.positionOf(trader)[0]
                receipts.append(ex.market.liquidate(trader, abs(size), sender=keeper))
                liquidated.append((hour, trader.address))
        broken = failures(check_market(ex.market, ex.token, everyone))
        assert not broken, f"hour {hour}: {[c.line() for c in broken]}"

    # alice at 8x long is wiped out by the -15 % hours; bob (short) and carol (2x long) survive.
    assert [who for _, who in liquidated] == [alice.address]
    assert ex.market.positionOf(keeper)[0] == WAD

    # Everyone closes against the market maker at the last index, then settles funding.
    last = _usd_wad(closes[-1])
    for account in (bob, carol, keeper):
        size = ex.market.positionOf(account)[0]
        if size:
            receipts.append(ex.trade(mm, account, size, last))
    assert ex.market.openInterest() == (0, 0)

    payments = [e.payment for r in receipts for e in r.events.filter(ex.market.FundingSettled)]
    assert payments, "funding was paid"
    # Zero-sum: the exact payments cancel; each settlement rounds at most 1 wei toward the market.
    assert 0 <= sum(payments) < len(payments)

    # The profit matures (the keeper's touch folds it into the market's totals); without bad debt
    # the winners are paid in full.
    chain.mine(1, timestamp=chain.blocks.head.timestamp + ex.market.warmupPeriod() + 1)
    ex.market.touch([a.address for a in everyone], sender=keeper)
    assert ex.market.pnlWarmingTotal() == 0
    if ex.market.badDebt() == 0:
        assert ex.market.haircut() == WAD
    # All flat: everyone can take everything out; what stays is the insurance fund plus dust.
    for account in everyone:
        owed = ex.market.capitalOf(account) + ex.market.pnlMaturedOf(account) * ex.market.haircut() // WAD
        amount = owed // 10**12
        if amount:
            ex.router.withdraw(ex.market_id, amount, sender=account)
    assert not failures(check_market(ex.market, ex.token, everyone))
    left = ex.token.balanceOf(ex.market) * 10**12
    assert left >= ex.market.insuranceFund()
    assert left - ex.market.insuranceFund() < len(everyone) * 10**12 + len(payments) + 10
