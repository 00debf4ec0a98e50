"""Mark manipulation in a thin market: at launch one quote far from the index moves the mark by at
most 1/30 of the (clamped) premium, quotes are rate-limited to one per block, and a position that
profits from a mark the attacker moved gives the profit back at the close: net = -fees."""

from eth_abi import encode
from eth_utils import keccak

from tests.adversarial.conftest import BTC, TAKER_FEE, WARMUP, fee, in_one_block, revert_data, usd, wait
from tests.conftest import WAD

MAX_PREMIUM = BTC // 10  # a sample is clamped to +-10 % of the index
STEP = MAX_PREMIUM // 30  # what one clamped sample moves MA30 by: 200 USD


def test_quote_at_launch__ten_times_index__moves_mark_by_a_thirtieth_of_the_clamp(ex, matcher):
    """On a market with no sample yet, the attacker's order book shows 600,000 (10x the index) and
    the sampler records it: the sample is clamped to +6,000 and MA30 = 6,000 / 30 (the ring starts
    full of zero-premium samples, DESIGN section 6), so the mark is 60,200, not 66,000 (a mean
    over the samples recorded so far, FundingRate before issue 18, gave the whole 6,000)."""
    fr = ex.funding
    assert fr.premiumState(ex.market_id)[:2] == (0, 0) and fr.markPrice(ex.market_id) == BTC
    receipt = fr.recordQuote(ex.market_id, 10 * BTC, 10 * BTC, sender=matcher)
    [event] = receipt.events.filter(fr.QuoteRecorded)
    assert (event.premium, event.ma30) == (MAX_PREMIUM, STEP)
    assert fr.markPrice(ex.market_id) == BTC + STEP == usd(60_200)


def test_quote_flood__one_per_block__mark_moves_one_step_per_block(ex, chain, matcher):
    """The attacker refreshes its quote every transaction: a second quote in the same block is
    refused with QuoteAlreadyRecorded(marketId, block), so three blocks move the mark three steps."""
    fr = ex.funding
    first, second = in_one_block(
        chain,
        lambda _: fr.recordQuote(ex.market_id, 2 * BTC, 2 * BTC, sender=matcher, gas=500_000),
        lambda p: fr.recordQuote(ex.market_id, 2 * BTC + 1, 2 * BTC + 1, sender=matcher, gas=500_000, nonce=p[0].nonce + 1),
    )
    assert first.block_number == second.block_number and not first.failed and second.failed
    selector = keccak(text="QuoteAlreadyRecorded(uint256,uint256)")[:4]
    assert revert_data(chain, second.txn_hash) == "0x" + (selector + encode(["uint256"] * 2, [ex.market_id, second.block_number])).hex()
    for k in (2, 3):
        fr.recordQuote(ex.market_id, 2 * BTC + k, 2 * BTC + k, sender=matcher)
    assert fr.premiumState(ex.market_id)[:2] == (3, 3 * MAX_PREMIUM)
    assert fr.markPrice(ex.market_id) == BTC + 3 * STEP


def test_trade_on_a_mark_the_attacker_moved__gives_it_back_at_the_close(ex, chain, ledger, alice, bob, carol, keeper, matcher):
    """alice (long 1 BTC from 60,000) gets her quote recorded: the mark rises one step, her touch
    realises the step as profit, which she even withdraws once it has matured (all her margin
    allows). Fills are priced
    against the index, so her close at 60,000 realises the step back as a loss: net = -fees."""
    m = ex.market
    for who in (alice, bob, carol):
        ledger.deposit(who, usd(10_000))
    ex.trade(bob, alice, -WAD, BTC)
    ex.funding.recordQuote(ex.market_id, 2 * BTC, 2 * BTC, sender=matcher)
    mark = ex.funding.markPrice(ex.market_id)
    assert mark > BTC
    m.touch([alice.address], sender=keeper)
    assert m.pnlOf(alice) == mark - BTC
    wait(chain, WARMUP)
    m.touch([alice.address, bob.address], sender=keeper)  # the sweep has realised bob's side
    # she takes out all that her margin allows, the moved mark's profit included
    initial = m.marginRequirements(alice)[0]
    assert initial == usd(6_020)  # 10 % of 1 BTC at the moved mark
    ledger.withdraw(alice, m.capitalOf(alice) + (mark - BTC) - initial)
    assert (m.capitalOf(alice), m.pnlOf(alice)) == (initial - (mark - BTC), mark - BTC)  # profit stays junior
    ex.trade(carol, alice, WAD, BTC)  # she sells to carol at the index
    assert (m.positionOf(alice)[0], m.pnlOf(alice)) == (0, 0)
    ledger.withdraw_capital(alice)
    assert ledger.net(alice) == -2 * fee(WAD, BTC, TAKER_FEE)
