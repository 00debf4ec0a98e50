"""FundingRate.recordQuote: access, validation, the 30-slot ring buffer, the sample clamp, the event."""

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from perpkit import model as M
from tests.conftest import WAD
from tests.unit.funding.conftest import INDEX


def _recorded(receipt, fr):
    logs = fr.QuoteRecorded.from_receipt(receipt)
    assert len(logs) == 1
    return dict(logs[0].event_arguments)


@pytest.mark.parametrize("caller", ["alice", "owner"])
def test_recordQuote__non_sampler_reverts(fr, request, caller):
    account = request.getfixturevalue(caller)
    with ape.reverts(fr.OnlySampler, caller=account.address):
        fr.recordQuote(0, INDEX, INDEX + WAD, sender=account)


def test_recordQuote__unknown_market_reverts(fr, matcher):
    with ape.reverts(fr.UnknownMarket, marketId=1):
        fr.recordQuote(1, INDEX, INDEX + WAD, sender=matcher)


@pytest.mark.parametrize(
    "bid, ask",
    [
        (0, INDEX),  # zero bid
        (0, 0),
        (INDEX + 1, INDEX),  # crossed by one wei
        (INDEX + WAD, INDEX - WAD),  # crossed
        (1, 2**128),  # ask does not fit the packed uint128
    ],
)
def test_recordQuote__invalid_quote_reverts(fr, matcher, bid, ask):
    with ape.reverts(fr.InvalidQuote, bid=bid, ask=ask):
        fr.recordQuote(0, bid, ask, sender=matcher)
    assert fr.premiumState(0)[0] == 0


def test_recordQuote__locked_book_is_recorded(fr, matcher):
    receipt = fr.recordQuote(0, INDEX + 3 * WAD, INDEX + 3 * WAD, sender=matcher)
    assert _recorded(receipt, fr)["premium"] == 3 * WAD
    assert fr.premiumState(0)[:2] == (1, 3 * WAD)


def test_recordQuote__odd_sum_rounds_mid_down(fr, matcher):
    # (bid + ask) / 2 = index + 0.5 wei -> index: the sample is 0, not 1.
    receipt = fr.recordQuote(0, INDEX, INDEX + 1, sender=matcher)
    assert _recorded(receipt, fr)["premium"] == 0


def test_recordQuote__unchanged_quote_reverts(fr, matcher):
    fr.recordQuote(0, INDEX - WAD, INDEX + 3 * WAD, sender=matcher)
    with ape.reverts(fr.QuoteUnchanged, bid=INDEX - WAD, ask=INDEX + 3 * WAD):
        fr.recordQuote(0, INDEX - WAD, INDEX + 3 * WAD, sender=matcher)
    assert fr.premiumState(0)[:4] == (1, WAD, INDEX - WAD, INDEX + 3 * WAD)


def test_recordQuote__one_side_changed_is_recorded(fr, matcher):
    fr.recordQuote(0, INDEX - WAD, INDEX + 3 * WAD, sender=matcher)  # sample +1
    fr.recordQuote(0, INDEX + WAD, INDEX + 3 * WAD, sender=matcher)  # bid moved: +2
    fr.recordQuote(0, INDEX + WAD, INDEX + 7 * WAD, sender=matcher)  # ask moved: +4
    assert fr.premiumState(0)[:4] == (3, 7 * WAD, INDEX + WAD, INDEX + 7 * WAD)
    assert fr.markPrice(0) == INDEX + 7 * WAD // 30  # the ring's 27 other samples are its zero start


def test_recordQuote__second_quote_in_same_block_reverts(fr, matcher, chain):
    """Two quotes mined in one block: the second reverts with QuoteAlreadyRecorded(marketId, block)."""
    chain.provider.auto_mine = False
    try:
        # An explicit gas limit: ape's default on a local chain is the block gas limit, one tx per block.
        first = fr.recordQuote(0, INDEX, INDEX + 2 * WAD, sender=matcher, gas=500_000)
        second = fr.recordQuote(0, INDEX + WAD, INDEX + 2 * WAD, sender=matcher, gas=500_000, nonce=first.nonce + 1)
        chain.mine(1)
    finally:
        chain.provider.auto_mine = True
    r1 = chain.provider.get_receipt(first.txn_hash)
    r2 = chain.provider.get_receipt(second.txn_hash)
    assert r1.block_number == r2.block_number == chain.blocks.head.number
    assert not r1.failed and r2.failed
    # The revert data of the mined transaction, read back from its trace.
    trace = chain.provider.make_request("debug_traceTransaction", [second.txn_hash, {"tracer": "callTracer"}])
    selector = keccak(text="QuoteAlreadyRecorded(uint256,uint256)")[:4]
    assert trace["output"] == "0x" + (selector + encode(["uint256", "uint256"], [0, r2.block_number])).hex()
    # Only the first one counts.
    assert fr.premiumState(0)[:4] == (1, WAD, INDEX, INDEX + 2 * WAD)


def test_recordQuote__emits_quote_recorded(fr, matcher, ex):
    fr.recordQuote(0, INDEX + 10 * WAD, INDEX + 12 * WAD, sender=matcher)  # +11
    ex.set_price(60_100)  # samples are taken against the index at the time
    receipt = fr.recordQuote(0, INDEX + 70 * WAD, INDEX + 71 * WAD + 1, sender=matcher)
    index = 60_100 * WAD
    premium = INDEX + 70 * WAD + WAD // 2 - index  # mid rounds the half wei down
    assert _recorded(receipt, fr) == {
        "marketId": 0,
        "bid": INDEX + 70 * WAD,
        "ask": INDEX + 71 * WAD + 1,
        "index": index,
        "premium": premium,
        "ma30": -((-(11 * WAD + premium)) // 30),  # over all 30 slots, truncated toward zero
    }
    assert premium == -29_500_000_000_000_000_000


def test_recordQuote__31st_sample_evicts_the_first(fr, matcher):
    # 31 distinct quotes, mostly below the index, with odd bid + ask on odd k: the means are
    # negative and not whole, so truncation toward zero (not floor) is visible.
    offsets = [(-1) ** k * (k + 1) * 1_234_567_891_234_567_891 - 3 * WAD + 7 * k * k for k in range(31)]
    quotes = [(INDEX + o - WAD // 2, INDEX + o + WAD // 2 + k % 2) for k, o in enumerate(offsets)]
    samples = [M.premium_sample(b, a, INDEX) for b, a in quotes]
    for bid, ask in quotes[:30]:
        fr.recordQuote(0, bid, ask, sender=matcher)

    assert fr.premiumState(0)[:2] == (30, sum(samples[:30]))
    assert M.ma30(sum(samples[:30])) == -3_617_283_945_617_281_949  # floor would give ...950
    assert fr.markPrice(0) == INDEX - 3_617_283_945_617_281_949

    receipt = fr.recordQuote(0, *quotes[30], sender=matcher)
    assert fr.premiumState(0)[:2] == (30, sum(samples[1:31]))
    assert M.ma30(sum(samples[-30:])) == sum(samples[1:31]) // 30 + 1 == -2_382_716_054_382_713_848
    assert fr.markPrice(0) == INDEX - 2_382_716_054_382_713_848
    assert _recorded(receipt, fr)["ma30"] == -2_382_716_054_382_713_848


@pytest.mark.parametrize(
    "mid_offset, expected",
    [
        (6_000 * WAD, 6_000 * WAD),  # exactly +10 %: kept
        (6_000 * WAD + 1, 6_000 * WAD),  # one wei past: clamped
        (9_000 * WAD, 6_000 * WAD),  # +15 %
        (-6_000 * WAD, -6_000 * WAD),  # exactly -10 %
        (-12_000 * WAD, -6_000 * WAD),  # -20 %
        (-6_000 * WAD - 1, -6_000 * WAD),
    ],
)
def test_recordQuote__sample_clamped_to_ten_percent_of_index(fr, matcher, mid_offset, expected):
    mid = INDEX + mid_offset
    receipt = fr.recordQuote(0, mid, mid, sender=matcher)
    assert _recorded(receipt, fr)["premium"] == expected
    assert fr.premiumState(0)[:2] == (1, expected)
    assert fr.markPrice(0) == INDEX + expected // 30  # one sample of 30: at most 0.33 % at the clamp


def test_recordQuote__full_ring_at_high_index__sum_does_not_overflow(fr, ex, matcher):
    """The running sum is an int96 (about 3.96e28, i.e. 39.6 billion USD in WAD). 30 samples at
    the +10 % clamp of an index of 20 billion USD per base unit (a price the oracle accepts) sum
    to 6e28: every quote must still be recorded and the mark must be index + 10 %."""
    index = 20_000_000_000 * WAD
    ex.set_price(20_000_000_000)
    for k in range(30):
        mid = index + index // 10 + k * WAD  # clamped to +10 %: every sample is 2e27
        fr.recordQuote(0, mid, mid, sender=matcher)
    assert fr.premiumState(0)[:2] == (30, 30 * (index // 10))
    assert fr.markPrice(0) == index + index // 10
