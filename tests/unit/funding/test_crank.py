"""FundingRate.crank and accrue: the first crank, no retroactive rate change, the event, many
short cranks against one long one, and the market-only accrual."""

import ape

from tests.conftest import WAD
from perpkit import model as M
from tests.unit.funding.conftest import INDEX, fill_ring, next_tx_at, quote_ma30

RATE_37 = 116_666_666_666_666  # the rate of MA30 = +37 USD at 60,000: P - 0.05 %


def _cranked(receipt, fr):
    logs = fr.FundingCranked.from_receipt(receipt)
    assert len(logs) == 1
    return dict(logs[0].event_arguments)


def test_crank__unknown_market_reverts(fr, keeper):
    with ape.reverts(fr.UnknownMarket, marketId=1):
        fr.crank(1, sender=keeper)


def test_crank__first_crank_accrues_nothing_and_fixes_rate(fr, chain, matcher, alice):
    quote_ma30(fr, matcher, 37 * WAD)
    registered_at = fr.premiumState(0)[4]
    t = registered_at + 5_000
    next_tx_at(chain, t)
    receipt = fr.crank(0, sender=alice)  # anyone may crank
    assert _cranked(receipt, fr) == {
        "marketId": 0,
        "fundingIndex": 0,
        "rate": RATE_37,
        "index": INDEX,
        "markPrice": INDEX + 37 * WAD,
    }
    assert fr.fundingIndex(0) == 0
    assert fr.fundingRate(0) == RATE_37
    assert fr.premiumState(0)[4] == t
    assert fr.lastCrank(0) == t


def test_crank__accrues_at_rate_fixed_at_previous_crank(fr, chain, matcher, keeper):
    t0 = chain.blocks.head.timestamp + 10
    next_tx_at(chain, t0)
    fr.crank(0, sender=keeper)  # no samples: fixes F = I = 0.01 %
    assert fr.fundingRate(0) == 10**14

    next_tx_at(chain, t0 + 100)
    fill_ring(fr, matcher, INDEX + 631 * WAD)  # premium jumps: F -> cap
    assert fr.currentFundingRate(0) == 10**16

    next_tx_at(chain, t0 + 3_600)
    receipt = fr.crank(0, sender=keeper)
    first = M.pending_accrual(10**14, INDEX, 3_600)  # the old rate for the whole hour, not the new one
    assert first == 750_000_000_000_000_000_000_000_000
    assert _cranked(receipt, fr) == {
        "marketId": 0,
        "fundingIndex": first,
        "rate": 10**16,
        "index": INDEX,
        "markPrice": INDEX + 631 * WAD,
    }

    assert fr.lastCrank(0) == t0 + 3_600
    next_tx_at(chain, t0 + 7_200)
    receipt = fr.crank(0, sender=keeper)
    second = first + M.pending_accrual(10**16, INDEX, 3_600)  # the new rate from the crank on
    assert second == 75_750_000_000_000_000_000_000_000_000
    assert _cranked(receipt, fr)["fundingIndex"] == second
    assert fr.fundingIndex(0) == second


def test_crank__many_short_cranks_match_one_long_up_to_one_unit_each(fr, chain, keeper):
    """Constant rate (0.01 %, no samples) and index: 9 cranks 3,200 s apart against one crank
    after 8 h. Each accrual truncates rate x index x elapsed / (8 h x 1e9) toward zero, losing
    less than one unit (1e-27 USD per base unit); so the two paths differ by less than n units.
    Here each short crank loses exactly 2/3 (6e36 x 3,200 / 2.88e13 = 666...666.67) and the long
    one nothing (6e27 exactly): the short path ends exactly 6 units lower. Both sides of the book
    use the same index, so the drift moves no money between them."""
    t0 = chain.blocks.head.timestamp + 10
    next_tx_at(chain, t0)
    fr.crank(0, sender=keeper)
    n, step = 9, M.FUNDING_PERIOD // 9

    with chain.isolate():
        for k in range(1, n + 1):
            next_tx_at(chain, t0 + k * step)
            fr.crank(0, sender=keeper)
        short_path = fr.fundingIndex(0)

    next_tx_at(chain, t0 + M.FUNDING_PERIOD)
    fr.crank(0, sender=keeper)
    long_path = fr.fundingIndex(0)

    assert long_path == M.pending_accrual(10**14, INDEX, M.FUNDING_PERIOD) == 6 * 10**27  # 0.01 % of 60,000 USD
    assert short_path == n * M.pending_accrual(10**14, INDEX, step) == 5_999_999_999_999_999_999_999_999_994
    assert long_path - short_path == 6


def test_accrue__non_market_reverts(fr, alice, ex):
    with ape.reverts(fr.OnlyMarket, marketId=0, caller=alice.address):
        fr.accrue(0, INDEX, sender=alice)


def test_accrue__unknown_market_reverts_only_market(fr, alice):
    with ape.reverts(fr.OnlyMarket, marketId=5, caller=alice.address):
        fr.accrue(5, INDEX, sender=alice)


def test_accrue__uses_the_index_price_the_market_passes(fr, ex, chain, accounts, matcher, keeper):
    quote_ma30(fr, matcher, 37 * WAD)
    t0 = chain.blocks.head.timestamp + 10
    next_tx_at(chain, t0)
    fr.crank(0, sender=keeper)
    market = accounts.impersonate_account(ex.market.address)
    chain.provider.set_balance(ex.market.address, 10**18)

    next_tx_at(chain, t0 + 1_000)
    receipt = fr.accrue(0, 50_000 * WAD, sender=market)
    expected = M.pending_accrual(RATE_37, 50_000 * WAD, 1_000)
    assert expected == 202_546_296_296_295_138_888_888_888
    assert receipt.return_value == (expected, 50_000 * WAD + 37 * WAD)
    assert fr.premiumState(0)[4] == t0 + 1_000
    assert fr.lastCrank(0) == t0  # an accrual is no crank...
    assert fr.fundingRate(0) == RATE_37  # ...and never fixes a new rate
    assert fr.FundingCranked.from_receipt(receipt) == []
