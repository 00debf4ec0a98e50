from tests.conftest import WAD


def test_trade__opens_opposite_positions(ex, alice, bob):
    ex.fund(alice, 10_000 * 10**6)
    ex.fund(bob, 10_000 * 10**6)
    receipt = ex.trade(alice, bob, WAD, 60_000 * WAD)
    print("gas", receipt.gas_used)
    assert ex.market.positionOf(alice)[0] == WAD
    assert ex.market.positionOf(bob)[0] == -WAD
    assert ex.market.openInterest() == (WAD, WAD)
    print(ex.market.accountValue(alice), ex.market.accountValue(bob), ex.market.insuranceFund())
