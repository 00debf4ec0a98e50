"""FundingRate views: markPrice, premiumIndex, currentFundingRate, fundingRate, fundingIndex,
lastCrank, premiumState, paramsOf, marketOf; UnknownMarket on every market view."""

import ape
import pytest

from tests.conftest import ZERO_ADDRESS, WAD, funding_params
from perpkit import model as M
from tests.unit.funding.conftest import INDEX, fill_ring, mine_at, next_tx_at, quote_ma30


def _quote_mid(fr, sampler, mid):
    fr.recordQuote(0, mid, mid, sender=sampler)


def test_markPrice__one_quote_on_a_new_market__moves_mark_by_a_thirtieth(fr, matcher):
    """The ring starts as 30 zero-premium samples: the first quote of a market, even one at the
    +10 % clamp, moves the mark by 1/30 of its premium (a mean over the samples recorded so far
    would move it by the whole 10 %)."""
    _quote_mid(fr, matcher, 10 * INDEX)  # a quote at 10x the index: clamped to +6,000 USD
    assert fr.premiumState(0)[:2] == (1, 6_000 * WAD)
    assert fr.markPrice(0) == INDEX + 200 * WAD  # +0.33 %, not +10 %
    assert fr.premiumIndex(0) == WAD // 300


def test_markPrice__no_samples__equals_index(fr, ex):
    assert fr.markPrice(0) == INDEX
    ex.set_price(61_234.56789012)
    assert fr.markPrice(0) == 61_234_567_890_120 * 10**9


def test_markPrice__samples_stay_in_usd_when_index_moves(fr, ex, matcher):
    _quote_mid(fr, matcher, INDEX + 40 * WAD)
    _quote_mid(fr, matcher, INDEX - 13 * WAD)
    ex.set_price(59_000)
    assert fr.markPrice(0) == 59_000 * WAD + 27 * WAD // 30  # the ring's 28 other samples are zero


def test_markPrice__index_crash__ma30_bounded_to_ten_percent_of_current_index(fr, ex, matcher, alice, bob):
    """A sample is clamped to -10 % of the index *when recorded*; after a fall of more than 90 %
    (and no newer quote) the raw MA30 exceeds the index. Bounded to +-10 % of the current index,
    the mark stays a positive price (unbounded, IP + MA30 < 0 wrapped to ~2**256 and froze the
    market: margin checks overflowed)."""
    fill_ring(fr, matcher, INDEX - 20_000 * WAD)  # each clamped to -6,000 USD
    assert fr.markPrice(0) == 54_000 * WAD
    ex.fund(alice, 20_000 * 10**6)
    ex.fund(bob, 20_000 * 10**6)
    ex.trade(alice, bob, WAD, INDEX)
    ex.set_price(5_000)  # -91.7 %: raw MA30 (-6,000) < -index
    assert M.mark_price(5_000 * WAD, -6_000 * WAD) == 4_500 * WAD
    assert fr.markPrice(0) == 4_500 * WAD
    assert fr.premiumIndex(0) == -WAD // 10
    assert fr.currentFundingRate(0) == -(10**16)  # -10 % + 0.05 %, capped at -1 %
    assert fr.premiumState(0)[:2] == (30, -180_000 * WAD)  # the stored samples are unchanged
    assert ex.market.isLiquidatable(alice)  # the market can still price the crashed long


def test_markPrice__index_rally__ma30_bounded_above(fr, ex, matcher):
    fill_ring(fr, matcher, INDEX + 6_000 * WAD)  # +10 % at 60,000
    ex.set_price(30_000)  # the same 6,000 USD would be +20 %
    assert fr.markPrice(0) == 33_000 * WAD
    assert fr.premiumIndex(0) == WAD // 10


def test_premiumIndex__no_samples__is_zero(fr):
    assert fr.premiumIndex(0) == 0


@pytest.mark.parametrize(
    "ma30, expected",
    [
        (30 * WAD, 500_000_000_000_000),  # exact: 0.05 %
        (37 * WAD, 616_666_666_666_666),  # truncated
        (-20 * WAD, -333_333_333_333_333),  # toward zero, not -...334
        (-6_000 * WAD, -WAD // 10),
    ],
)
def test_premiumIndex__is_ma30_over_index_truncated(fr, matcher, ma30, expected):
    quote_ma30(fr, matcher, ma30)
    assert M.premium_index(ma30, INDEX) == expected
    assert fr.premiumIndex(0) == expected


@pytest.mark.parametrize(
    "ma30_usd, expected",
    [
        (None, 100_000_000_000_000),  # no sample: P = 0 -> F = I
        (30, 100_000_000_000_000),  # P = 0.05 %: I - P inside the clamp -> F = I
        (-20, 100_000_000_000_000),  # P = -0.033 %: inside -> F = I
        (36, 100_000_000_000_000),  # P = 0.06 %: I - P = -0.05 %, the clamp's edge -> F = I
        (37, 116_666_666_666_666),  # P = 0.0617 %: F = P - 0.05 %
        (-100, -1_166_666_666_666_666),  # P = -0.167 %: F = P + 0.05 %
        (630, 10_000_000_000_000_000),  # P - 0.05 % = 1 % exactly: the cap
        (631, 10_000_000_000_000_000),  # past the cap
        (-1_000, -10_000_000_000_000_000),  # past -cap
        (-6_000, -10_000_000_000_000_000),  # the largest sample
    ],
)
def test_currentFundingRate__clamps_and_caps(fr, matcher, ma30_usd, expected):
    if ma30_usd is not None:
        quote_ma30(fr, matcher, ma30_usd * WAD)
    assert M.funding_rate(M.premium_index((ma30_usd or 0) * WAD, INDEX), M.FundingParams()) == expected
    assert fr.currentFundingRate(0) == expected


def test_currentFundingRate__follows_new_params_at_once(fr, ex, matcher, owner):
    quote_ma30(fr, matcher, 631 * WAD)  # P = 10_516_666_666_666_666
    ex.router.setFundingParams(0, funding_params(interestRate=0, premiumClamp=0, rateCap=3 * 10**16), sender=owner)
    assert fr.paramsOf(0) == (0, 0, 3 * 10**16)
    assert fr.currentFundingRate(0) == 10_516_666_666_666_666  # F = P: no interest, no clamp, under the cap
    assert fr.fundingRate(0) == 0  # the fixed rate changes only at a crank


def test_fundingRate__zero_until_first_crank_then_fixed(fr, matcher, keeper):
    assert fr.fundingRate(0) == 0
    quote_ma30(fr, matcher, 37 * WAD)
    assert fr.fundingRate(0) == 0
    fr.crank(0, sender=keeper)
    assert fr.fundingRate(0) == 116_666_666_666_666
    _quote_mid(fr, matcher, INDEX - 5_000 * WAD)  # premium moves, current rate moves...
    assert fr.currentFundingRate(0) == -1_661_111_111_111_111  # MA30 = (1,110 - 5,000) / 30 USD: P + 0.05 %
    assert fr.fundingRate(0) == 116_666_666_666_666  # ...the fixed one does not


@pytest.mark.parametrize(
    "ma30_usd, rate, elapsed, expected",
    [
        (37, 116_666_666_666_666, 12_347, 3_001_006_944_444_427_295_833_333_333),  # truncated
        (37, 116_666_666_666_666, M.FUNDING_PERIOD, 6_999_999_999_999_960_000_000_000_000),  # 8 h
        (-100, -1_166_666_666_666_666, 7, -17_013_888_888_888_879_166_666_666),  # toward zero
    ],
)
def test_fundingIndex__includes_pending_accrual(fr, chain, matcher, keeper, ma30_usd, rate, elapsed, expected):
    quote_ma30(fr, matcher, ma30_usd * WAD)
    t0 = chain.blocks.head.timestamp + 10
    next_tx_at(chain, t0)
    fr.crank(0, sender=keeper)  # first crank: accrues nothing, fixes `rate`
    assert fr.fundingRate(0) == rate
    assert fr.fundingIndex(0) == 0
    mine_at(chain, t0 + elapsed)
    assert M.pending_accrual(rate, INDEX, elapsed) == expected
    assert fr.fundingIndex(0) == expected
    assert fr.premiumState(0)[4] == t0  # a view accrues nothing


def test_fundingIndex__pending_uses_the_index_price_now(fr, ex, chain, matcher, keeper):
    quote_ma30(fr, matcher, 37 * WAD)
    t0 = chain.blocks.head.timestamp + 10
    next_tx_at(chain, t0)
    fr.crank(0, sender=keeper)
    next_tx_at(chain, t0 + 500)
    ex.set_price(61_234.56789012)
    mine_at(chain, t0 + 1_001)
    expected = M.pending_accrual(116_666_666_666_666, 61_234_567_890_120 * 10**9, 1_001)
    assert expected == 248_304_755_327_585_872_782_350_509
    assert fr.fundingIndex(0) == expected


def test_premiumState_paramsOf_marketOf__report_registration(fr, ex, chain):
    count, total, bid, ask, last_accrual = fr.premiumState(0)
    assert (count, total, bid, ask) == (0, 0, 0, 0)
    assert 0 < last_accrual <= chain.blocks.head.timestamp
    assert fr.paramsOf(0) == (10**14, 5 * 10**14, 10**16)
    assert fr.marketOf(0) == ex.market.address
    assert fr.marketOf(1) == ZERO_ADDRESS
    assert fr.lastCrank(0) == 0  # never cranked
    assert (fr.SAMPLES(), fr.FUNDING_PERIOD(), fr.INDEX_SCALE(), fr.MAX_SAMPLE_PREMIUM()) == (
        30,
        28_800,
        10**27,
        WAD // 10,
    )
    assert fr.router() == ex.router.address


@pytest.mark.parametrize(
    "view",
    [
        "markPrice",
        "premiumIndex",
        "currentFundingRate",
        "fundingRate",
        "fundingIndex",
        "premiumState",
        "paramsOf",
        "lastCrank",
    ],
)
def test_views__unknown_market_reverts(fr, view):
    with ape.reverts(fr.UnknownMarket, marketId=1):
        getattr(fr, view)(1)
