"""Funding from the attacker's side: a receiver who settles as often as it likes gets no more than
the payer pays (the rounding dust stays in the market), and a position opened late pays or gets
nothing for funding accrued before it existed."""

from perpkit import model as M
from tests.adversarial.conftest import BTC, usd, wait
from tests.conftest import WAD

SIZE = WAD // 3  # a size whose payments are rarely whole wei: the rounding is exercised


def _payments(receipt, market, account):
    return [(e.payment, e.fundingIndex) for e in receipt.events.filter(market.FundingSettled) if e.account == account.address]


def test_funding_between_equal_long_and_short__payer_pays_at_least_receiver_gets__dust_stays(
    ex, chain, ledger, alice, bob, keeper
):
    """bob (short, the attacker) touches both sides 12 times over ~3.5 h of accrual at the 0.01 %
    interest rate, to harvest the rounding of each settlement. Every settlement is ceiled for
    alice (she pays) and floored for bob, so the gap is exactly the count of fractional ones."""
    m, fr = ex.market, ex.funding
    for who in (alice, bob):
        ledger.deposit(who, usd(10_000))
    ex.trade(bob, alice, -SIZE, BTC)  # bob short, alice long, equal size
    fr.crank(ex.market_id, sender=keeper)  # fixes the first rate: the interest rate, premium 0
    assert fr.fundingRate(ex.market_id) == 10**14

    paid = got = expected_gap = 0
    index = m.accountOf(alice).fundingSnapshot
    for k in range(12):
        wait(chain, 997 + 13 * k)
        if k % 3 == 0:
            fr.crank(ex.market_id, sender=keeper)
        receipt = m.touch([alice.address, bob.address], sender=bob)
        [(a_pay, a_index)] = _payments(receipt, m, alice)
        [(b_pay, b_index)] = _payments(receipt, m, bob)
        assert a_index == b_index  # one index for both sides of the book
        delta, index = a_index - index, a_index
        assert (a_pay, b_pay) == (M.funding_payment(SIZE, delta), M.funding_payment(-SIZE, delta))
        paid, got = paid + a_pay, got - b_pay
        expected_gap += a_pay + b_pay  # ceil(x) - floor(x): 1 wei when x is fractional, else 0

    assert paid >= got > 0
    assert paid - got == expected_gap
    assert 0 < expected_gap <= 12  # at most one wei per settlement, and rounding did occur
    # the dust is nobody's claim: it stays in the market beyond every senior and junior claim
    residual = m.vault() - m.capitalTotal() - m.insuranceFund()
    assert (m.pnlOf(bob), m.pnlPosTotal()) == (got, got)
    assert residual - m.pnlPosTotal() == paid - got


def test_position_opened_after_accrual__pays_nothing_for_the_past(ex, chain, ledger, alice, bob, carol, dave, keeper):
    """Funding has accrued for 8 h on alice's long; carol and dave open in that market afterwards
    (carol long, the paying side, dave short): neither is charged or credited for the past 8 h,
    and their first settlement is for their own time only."""
    m, fr = ex.market, ex.funding
    for who in (alice, bob, carol, dave):
        ledger.deposit(who, usd(10_000))
    ex.trade(bob, alice, -WAD // 10, BTC)
    fr.crank(ex.market_id, sender=keeper)
    wait(chain, 8 * 3_600)
    fr.crank(ex.market_id, sender=keeper)
    receipt = ex.trade(dave, carol, -WAD // 10, BTC)  # carol long, dave short, 8 h late
    assert [e for e in receipt.events.filter(m.FundingSettled)] == []
    opened = m.accountOf(carol).fundingSnapshot
    assert opened == m.accountOf(dave).fundingSnapshot == fr.fundingIndex(ex.market_id) > 0
    wait(chain, 600)
    receipt = m.touch([carol.address, dave.address], sender=keeper)
    [(c_pay, c_index)] = _payments(receipt, m, carol)
    [(d_pay, _)] = _payments(receipt, m, dave)
    assert (c_pay, d_pay) == (M.funding_payment(WAD // 10, c_index - opened), M.funding_payment(-WAD // 10, c_index - opened))
    # ten minutes' funding (0.0125 USD on 6,000 of notional), not the 8 h before carol opened
    assert 0 < c_pay < M.funding_payment(WAD // 10, opened) // 40
