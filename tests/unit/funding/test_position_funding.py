"""Funding reaches accounts through PerpMarket: size x (index_now - snapshot), settled when the
position changes, the payer rounded up and the receiver down (the dust stays in the market)."""

import pytest

from tests.conftest import WAD, market_params
from perpkit import model as M
from tests.unit.funding.conftest import next_tx_at, quote_ma30

PRICE = 60_000.12345678  # not a round number, so that the 8 h payment is not a whole 1e-18 USD
INDEX = 6_000_012_345_678 * 10**10


@pytest.fixture(scope="module")
def zero_fee_ex(make_exchange):
    return make_exchange(params=market_params(makerFee=0, takerFee=0))


def _account(market, who):
    capital, pnl, size, open_notional, snapshot, *_warming = market.accountOf(who)
    return dict(capital=capital, pnl=pnl, size=size, openNotional=open_notional, snapshot=snapshot)


@pytest.mark.parametrize(
    "ma30_usd, premium, rate, delta, long_pays",
    [
        # MA30 = +37 USD: P = 0.0617 %, F = P - 0.05 % > 0: the long pays ~7.00 USD per BTC per 8 h.
        (
            37,
            616_665_397_807_927,
            116_665_397_807_927,
            6_999_938_271_609_970_785_725_895_060,
            6_999_938_271_609_970_786,
        ),
        # MA30 = -100 USD: F = P + 0.05 % < 0: the short pays ~70.00 USD, the long receives.
        (
            -100,
            -1_666_663_237_318_722,
            -1_166_663_237_318_722,
            -69_999_938_271_609_943_745_251_835_160,
            -69_999_938_271_609_943_745,
        ),
    ],
    ids=["longs-pay", "shorts-pay"],
)
def test_position_change__pays_exactly_8h_on_the_old_size(
    zero_fee_ex, chain, alice, bob, matcher, keeper, ma30_usd, premium, rate, delta, long_pays
):
    ex, market, fr = zero_fee_ex, zero_fee_ex.market, zero_fee_ex.funding
    short_pays = M.funding_payment(-WAD, delta)
    assert M.premium_index(ma30_usd * WAD, INDEX) == premium
    assert M.funding_rate(premium, M.FundingParams()) == rate
    assert M.pending_accrual(rate, INDEX, M.FUNDING_PERIOD) == delta
    assert M.funding_payment(WAD, delta) == long_pays
    assert long_pays + short_pays == 1  # whichever side pays, pays one wei more than the other gets

    ex.set_price(PRICE)
    quote_ma30(fr, matcher, ma30_usd * WAD, INDEX)
    ex.fund(alice, 20_000 * 10**6)
    ex.fund(bob, 20_000 * 10**6)
    t1 = chain.blocks.head.timestamp + 10
    next_tx_at(chain, t1)
    ex.trade(alice, bob, WAD, 60_000 * WAD)  # alice long 1 BTC, bob short; rate still 0
    next_tx_at(chain, t1 + 60)
    fr.crank(0, sender=keeper)  # accrues nothing (rate 0 since t1), fixes `rate`
    assert (fr.fundingIndex(0), fr.fundingRate(0)) == (0, rate)
    assert _account(market, alice) == dict(capital=20_000 * WAD, pnl=0, size=WAD, openNotional=60_000 * WAD, snapshot=0)
    assert _account(market, bob) == dict(capital=20_000 * WAD, pnl=0, size=-WAD, openNotional=-60_000 * WAD, snapshot=0)

    next_tx_at(chain, t1 + 60 + M.FUNDING_PERIOD)
    receipt = ex.trade(alice, bob, WAD, 60_000 * WAD)  # both grow to 2 BTC

    settled = {log.account: (log.payment, log.fundingIndex) for log in market.FundingSettled.from_receipt(receipt)}
    assert settled == {alice.address: (long_pays, delta), bob.address: (short_pays, delta)}
    # The touch also marks each side to market (mark = index + MA30) before the fill. A net loss is
    # taken from capital at once; a net gain is junior PnL. The new BTC of each side pays nothing
    # yet: the snapshots moved to the index of the change.
    mark = fr.markPrice(0)
    for who, side, pays in ((alice, 1, long_pays), (bob, -1, short_pays)):
        net = side * (mark - 60_000 * WAD) - pays
        assert _account(market, who) == dict(
            capital=20_000 * WAD - max(-net, 0),
            pnl=max(net, 0),
            size=2 * WAD * side,
            openNotional=side * (mark + 60_000 * WAD),
            snapshot=delta,
        )
    # The wei of rounding stays in the market, above every claim.
    assert market.vault() - market.capitalTotal() - market.insuranceFund() - market.pnlPosTotal() == 1
    # The trade accrued at the fixed rate and fixed no new one.
    assert fr.fundingRate(0) == rate
    assert fr.lastCrank(0) == t1 + 60
    assert fr.premiumState(0)[4] == t1 + 60 + M.FUNDING_PERIOD
