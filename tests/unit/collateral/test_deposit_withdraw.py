"""depositCollateral(For) and withdrawCollateral(For) of tokens with 6, 8 and 18 decimals: exact
balances in the pool and in the tokens, events, the margin each balance counts for, caps,
fee-on-transfer tokens and the refusals."""

import pytest

from tests.conftest import WAD, ZERO_ADDRESS
from tests.unit.collateral.conftest import MARKET_ID, deposit, make_stale, reverts, usd, value_of, weighted

# every digit of each token's decimals matters
AMOUNTS = {"USDT": 1_234_567_891, "WBTC": 12_345_678, "WETH": 1_234_567_891_234_567_891}
SYMBOLS = list(AMOUNTS)
BIT = {"USDT": 1, "WBTC": 2, "WETH": 4}  # heldMask bit of each (registration order)


def _state(cx, c, *accounts):
    """Per-token totals and per-account balances, pool and token side."""
    return (
        c.token.balanceOf(cx.pool),
        cx.pool.collateralOf(c.token)[3],
        *(cx.pool.balanceOf(a, c.token) for a in accounts),
        *(c.token.balanceOf(a) for a in accounts),
    )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_deposit_collateral__credits_the_pool_and_counts_as_margin(cx, alice, symbol):
    c = cx.collaterals[symbol]
    amount = AMOUNTS[symbol]
    c.token.mint(alice, amount + 7, sender=alice)
    c.token.approve(cx.router, amount, sender=alice)
    receipt = cx.router.depositCollateral(MARKET_ID, c.token, amount, sender=alice)

    assert _state(cx, c, alice) == (amount, amount, amount, 7)
    assert c.token.balanceOf(cx.router) == 0
    assert c.token.allowance(alice, cx.router) == 0
    assert (cx.pool.heldMask(alice), cx.pool.holdsCollateral(alice)) == (BIT[symbol], True)
    [event] = receipt.events.filter(cx.pool.CollateralDeposited)
    assert (event.account, event.token, event.payer, event.amount) == (alice.address, c.token.address, alice.address, amount)

    # balance x scale x price x weight, each product rounded down
    expected = (amount * c.scale * c.spec.price * WAD // WAD) * c.spec.weight // WAD
    assert expected == value_of(c, amount) > 0
    assert cx.pool.valueOf(alice) == (expected, True)
    assert cx.market.accountValue(alice) == expected  # flat, no capital: the collateral only
    tokens, balances, values, priced = cx.pool.balancesOf(alice)
    assert tokens == [cx.collaterals[s].token.address for s in SYMBOLS]
    assert balances == [amount if s == symbol else 0 for s in SYMBOLS]
    assert values == [expected if s == symbol else 0 for s in SYMBOLS]
    assert priced == [True, True, True]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_withdraw_collateral__returns_exact_units(cx, alice, symbol):
    c = cx.collaterals[symbol]
    amount = AMOUNTS[symbol]
    deposit(cx, alice, c, amount)
    part = amount // 3 + 1
    receipt = cx.router.withdrawCollateral(MARKET_ID, c.token, part, sender=alice)

    assert _state(cx, c, alice) == (amount - part, amount - part, amount - part, part)
    [event] = receipt.events.filter(cx.pool.CollateralWithdrawn)
    assert (event.account, event.token, event.to, event.amount) == (alice.address, c.token.address, alice.address, part)
    assert cx.pool.valueOf(alice) == (value_of(c, amount - part), True)
    assert cx.market.accountValue(alice) == value_of(c, amount - part)

    cx.router.withdrawCollateral(MARKET_ID, c.token, amount - part, sender=alice)
    assert _state(cx, c, alice) == (0, 0, 0, amount)
    assert (cx.pool.heldMask(alice), cx.pool.holdsCollateral(alice)) == (0, False)
    assert cx.pool.valueOf(alice) == (0, True)


def test_value_of__sums_every_token_held(cx, alice, bob):
    for symbol, amount in AMOUNTS.items():
        deposit(cx, alice, cx.collaterals[symbol], amount)
    deposit(cx, bob, cx.collaterals["WETH"], WAD)
    expected = sum(value_of(cx.collaterals[s], a) for s, a in AMOUNTS.items())
    # 1,172.839496 + 6,666.66612 + 2,962.962938... each rounded down on its own
    assert expected == usd("1172.83949645") + usd("6666.66612") + weighted(AMOUNTS["WETH"], 1, 3_000 * WAD, 8 * WAD // 10)
    assert cx.pool.valueOf(alice) == (expected, True)
    assert cx.pool.heldMask(alice) == 7
    assert cx.pool.valueOf(bob) == (usd(2_400), True)
    assert cx.market.accountValue(bob) == usd(2_400)


def test_value_of__zero_weight_counts_nothing_and_needs_no_price(chain, cx, owner, alice):
    weth, usdt = cx.collaterals["WETH"], cx.collaterals["USDT"]
    deposit(cx, alice, weth, WAD)
    deposit(cx, alice, usdt, 100 * 10**6)
    cx.router.setCollateral(MARKET_ID, weth.token, weth.oracle, weth.params(weight=0), sender=owner)
    make_stale(chain, owner, weth.feed)
    assert cx.pool.valueOf(alice) == (usd(95), True)  # the delisted WETH is not asked for a price
    assert cx.market.accountValue(alice) == usd(95)
    usdt.feed.setReverting(True, sender=owner)
    assert cx.pool.valueOf(alice) == (0, False)


def test_deposit_collateral_for__payer_pays_account_is_credited(cx, alice, bob):
    c = cx.collaterals["WBTC"]
    receipt = deposit(cx, alice, c, 5 * 10**7, payer=bob)
    assert _state(cx, c, alice, bob) == (5 * 10**7, 5 * 10**7, 5 * 10**7, 0, 0, 0)
    [event] = receipt.events.filter(cx.pool.CollateralDeposited)
    assert (event.account, event.token, event.payer, event.amount) == (alice.address, c.token.address, bob.address, 5 * 10**7)
    with reverts(cx.router.ZeroAddress):
        cx.router.depositCollateralFor(MARKET_ID, ZERO_ADDRESS, c.token, 1, sender=bob)


def test_withdraw_collateral_for__operator_only_and_tokens_go_to_the_account(cx, alice, bob, carol):
    c = cx.collaterals["USDT"]
    deposit(cx, alice, c, 1_000 * 10**6)
    with reverts(cx.router.NotAuthorized, caller=bob.address, account=alice.address):
        cx.router.withdrawCollateralFor(MARKET_ID, alice, c.token, 1, sender=bob)

    cx.router.setOperator(bob, True, sender=alice)
    receipt = cx.router.withdrawCollateralFor(MARKET_ID, alice, c.token, 400 * 10**6, sender=bob)
    assert _state(cx, c, alice, bob) == (600 * 10**6, 600 * 10**6, 600 * 10**6, 0, 400 * 10**6, 0)
    [event] = receipt.events.filter(cx.pool.CollateralWithdrawn)
    assert (event.account, event.to, event.amount) == (alice.address, alice.address, 400 * 10**6)
    with reverts(cx.router.NotAuthorized, caller=carol.address, account=alice.address):
        cx.router.withdrawCollateralFor(MARKET_ID, alice, c.token, 1, sender=carol)


# ---------------------------------------------------------------- caps


def test_deposit_collateral__cap_reached_exactly_then_exceeded(cx, owner, alice, bob):
    c = cx.collaterals["WBTC"]
    cx.router.setCollateral(MARKET_ID, c.token, c.oracle, c.params(cap=10**8), sender=owner)  # 1 BTC
    deposit(cx, bob, c, 4 * 10**7)
    c.token.mint(alice, 6 * 10**7 + 1, sender=alice)
    c.token.approve(cx.router, 6 * 10**7 + 1, sender=alice)
    with reverts(cx.router.CollateralCapExceeded, token=c.token.address, total=10**8 + 1, cap=10**8):
        cx.router.depositCollateral(MARKET_ID, c.token, 6 * 10**7 + 1, sender=alice)

    cx.router.depositCollateral(MARKET_ID, c.token, 6 * 10**7, sender=alice)  # exactly at the cap
    assert cx.pool.collateralOf(c.token)[3] == 10**8
    assert c.token.balanceOf(cx.pool) == 10**8
    with reverts(cx.router.CollateralCapExceeded, token=c.token.address, total=10**8 + 1, cap=10**8):
        cx.router.depositCollateral(MARKET_ID, c.token, 1, sender=alice)

    # a cap lowered under the total blocks deposits, not withdrawals
    cx.router.setCollateral(MARKET_ID, c.token, c.oracle, c.params(cap=1), sender=owner)
    cx.router.withdrawCollateral(MARKET_ID, c.token, 6 * 10**7, sender=alice)
    assert _state(cx, c, alice, bob) == (4 * 10**7, 4 * 10**7, 0, 4 * 10**7, 6 * 10**7 + 1, 0)


@pytest.fixture
def fot(cx, project, owner):
    """A fee-on-transfer token (1 % burnt per transfer, 18 decimals) priced by the USDT oracle ($1),
    weight 0.9, registered fourth (bit 8)."""
    token = owner.deploy(project.MockFeeOnTransferERC20, "Fee", "FEE", 18)
    oracle = cx.collaterals["USDT"].oracle
    cx.router.setCollateral(MARKET_ID, token, oracle, (9 * WAD // 10, WAD // 20, 990 * WAD - 1), sender=owner)
    return token, oracle


def test_deposit_collateral__fee_on_transfer_credits_what_arrived(cx, owner, alice, fot):
    token, oracle = fot
    token.mint(alice, 1_000 * WAD, sender=alice)
    token.approve(cx.router, 1_000 * WAD, sender=alice)
    # 1,000 sent, 990 arrive: the cap applies to the 990
    with reverts(cx.router.CollateralCapExceeded, token=token.address, total=990 * WAD, cap=990 * WAD - 1):
        cx.router.depositCollateral(MARKET_ID, token, 1_000 * WAD, sender=alice)
    cx.router.setCollateral(MARKET_ID, token, oracle, (9 * WAD // 10, WAD // 20, 990 * WAD), sender=owner)

    receipt = cx.router.depositCollateral(MARKET_ID, token, 1_000 * WAD, sender=alice)
    assert token.balanceOf(cx.pool) == 990 * WAD
    assert cx.pool.balanceOf(alice, token) == 990 * WAD
    assert cx.pool.collateralOf(token)[3] == 990 * WAD
    assert token.balanceOf(alice) == 0
    [event] = receipt.events.filter(cx.pool.CollateralDeposited)
    assert (event.account, event.token, event.amount) == (alice.address, token.address, 990 * WAD)
    assert cx.pool.heldMask(alice) == 8
    assert cx.pool.valueOf(alice) == (usd(891), True)  # 990 x $1 x 0.9

    # the pool sends 990; alice receives 980.1 (the token's own fee), and the pool is left with nothing
    cx.router.withdrawCollateral(MARKET_ID, token, 990 * WAD, sender=alice)
    assert (token.balanceOf(cx.pool), cx.pool.collateralOf(token)[3]) == (0, 0)
    assert token.balanceOf(alice) == usd("980.1")


# ---------------------------------------------------------------- refusals


def test_withdraw_collateral__more_than_balance_reverts(cx, alice):
    c = cx.collaterals["WETH"]
    deposit(cx, alice, c, WAD)
    with reverts(cx.router.InsufficientCollateral, account=alice.address, token=c.token.address, amount=WAD + 1, balance=WAD):
        cx.router.withdrawCollateral(MARKET_ID, c.token, WAD + 1, sender=alice)
    other = cx.collaterals["USDT"].token
    with reverts(cx.router.InsufficientCollateral, account=alice.address, token=other.address, amount=1, balance=0):
        cx.router.withdrawCollateral(MARKET_ID, other, 1, sender=alice)


def test_deposit_collateral__unregistered_token_reverts(cx, project, owner, alice):
    token = owner.deploy(project.MockERC20, "Other", "OTH", 18)
    token.mint(alice, WAD, sender=alice)
    token.approve(cx.router, WAD, sender=alice)
    with reverts(cx.router.UnknownCollateral, token=token.address):
        cx.router.depositCollateral(MARKET_ID, token, WAD, sender=alice)
    assert token.balanceOf(alice) == WAD
    with reverts(cx.router.UnknownCollateral, token=token.address):
        cx.router.withdrawCollateral(MARKET_ID, token, 1, sender=alice)
    # the settlement token is no pool collateral either
    cx.token.mint(alice, WAD, sender=alice)
    cx.token.approve(cx.router, WAD, sender=alice)
    with reverts(cx.router.UnknownCollateral, token=cx.token.address):
        cx.router.depositCollateral(MARKET_ID, cx.token, WAD, sender=alice)


def test_deposit_and_withdraw_collateral__zero_amount_reverts(cx, alice):
    c = cx.collaterals["WETH"]
    deposit(cx, alice, c, WAD)
    with reverts(cx.router.ZeroAmount):
        cx.router.depositCollateral(MARKET_ID, c.token, 0, sender=alice)
    with reverts(cx.router.ZeroAmount):
        cx.router.withdrawCollateral(MARKET_ID, c.token, 0, sender=alice)
