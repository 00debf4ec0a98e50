"""PerpRouter.setCollateral (the registry, its bounds and the pool it creates once) and the access
rules between router, market and pool."""

import pytest

from tests.conftest import FEED_DECIMALS, WAD, ZERO_ADDRESS
from tests.unit.collateral.conftest import (
    COLLATERAL_HEARTBEAT,
    MARKET_ID,
    U128_MAX,
    deploy_collateral_exchange,
    make_stale,
    reverts,
)
from tests.unit.router.conftest import bytes32

MIN_DISCOUNT, MAX_DISCOUNT, MAX_WEIGHT = WAD // 100, WAD // 5, 99 * WAD // 100


@pytest.fixture(scope="module")
def bare(project, chain, owner, make_exchange, make_feed, make_oracle):
    """A market with no collateral registered (no pool yet), and three unregistered tokens."""
    return deploy_collateral_exchange(project, chain, owner, make_exchange, make_feed, make_oracle, register=False)


@pytest.fixture
def weth(bare):
    return bare.collaterals["WETH"]


def _set(bare, owner, c, params=None, oracle=None, market_id=MARKET_ID):
    return bare.router.setCollateral(market_id, c.token, oracle or c.oracle, params or c.params(), sender=owner)


def _pool(project, bare):
    return project.CollateralPool.at(bare.router.collateralPoolOf(MARKET_ID))


# ---------------------------------------------------------------- the pool, created once


def test_set_collateral__first_creates_the_pool_then_reuses_it(project, bare, owner, weth):
    assert bare.router.collateralPoolOf(MARKET_ID) == ZERO_ADDRESS
    assert bare.market.collateralPool() == ZERO_ADDRESS

    receipt = _set(bare, owner, weth, weth.params(cap=5 * WAD))
    pool = _pool(project, bare)
    assert pool.address != ZERO_ADDRESS
    [created] = receipt.events.filter(bare.router.CollateralPoolCreated)
    assert (created.marketId, created.pool) == (MARKET_ID, pool.address)
    assert bare.market.collateralPool() == pool.address
    assert (pool.router(), pool.market(), pool.marketId()) == (bare.router.address, bare.market.address, MARKET_ID)
    [event] = receipt.events.filter(pool.CollateralSet)
    assert (event.token, event.oracle, event.weight, event.liquidationDiscount, event.cap) == (
        weth.token.address,
        weth.oracle.address,
        80 * WAD // 100,
        5 * WAD // 100,
        5 * WAD,
    )
    assert pool.collateralOf(weth.token) == (weth.oracle.address, (80 * WAD // 100, 5 * WAD // 100, 5 * WAD), 1, 0)

    wbtc = bare.collaterals["WBTC"]
    receipt = _set(bare, owner, wbtc)
    assert list(receipt.events.filter(bare.router.CollateralPoolCreated)) == []
    assert bare.router.collateralPoolOf(MARKET_ID) == pool.address
    assert pool.collateralTokens() == [weth.token.address, wbtc.token.address]
    assert pool.collateralOf(wbtc.token) == (wbtc.oracle.address, wbtc.params(), 10**10, 0)
    [event] = receipt.events.filter(pool.CollateralSet)
    assert event.token == wbtc.token.address


def test_set_collateral__again_updates_the_params_and_oracle(project, bare, owner, weth, make_feed, make_oracle):
    _set(bare, owner, weth)
    pool = _pool(project, bare)
    oracle = make_oracle(make_feed(FEED_DECIMALS, 2_000 * 10**FEED_DECIMALS), COLLATERAL_HEARTBEAT)
    new = (WAD // 2, WAD // 10, 7)
    receipt = _set(bare, owner, weth, new, oracle=oracle)
    assert pool.collateralOf(weth.token) == (oracle.address, new, 1, 0)
    assert pool.collateralTokens() == [weth.token.address]  # not registered twice
    [event] = receipt.events.filter(pool.CollateralSet)
    assert (event.token, event.oracle, event.weight, event.liquidationDiscount, event.cap) == (
        weth.token.address,
        oracle.address,
        *new,
    )


def test_set_collateral__ninth_token_reverts(project, bare, owner, weth):
    tokens = [owner.deploy(project.MockERC20, f"T{i}", f"T{i}", 18) for i in range(8)]
    for token in tokens:
        bare.router.setCollateral(MARKET_ID, token, weth.oracle, weth.params(), sender=owner)
    pool = _pool(project, bare)
    assert pool.collateralTokens() == [t.address for t in tokens]
    with reverts(bare.router.TooManyCollaterals, max=8):
        _set(bare, owner, weth)
    # a registered one can still be updated at the limit
    bare.router.setCollateral(MARKET_ID, tokens[7], weth.oracle, weth.params(weight=0), sender=owner)
    assert pool.collateralOf(tokens[7])[1] == (0, 5 * WAD // 100, U128_MAX)


# ---------------------------------------------------------------- bounds and refusals


def test_set_collateral__only_owner(bare, alice, weth):
    with reverts(bare.router.OwnableUnauthorizedAccount, account=alice.address):
        _set(bare, alice, weth)


@pytest.mark.parametrize(
    "weight, discount, cap, name, value, lo, hi",
    [
        (0, MIN_DISCOUNT - 1, 1, "liquidationDiscount", MIN_DISCOUNT - 1, MIN_DISCOUNT, MAX_DISCOUNT),
        (0, MAX_DISCOUNT + 1, 1, "liquidationDiscount", MAX_DISCOUNT + 1, MIN_DISCOUNT, MAX_DISCOUNT),
        # weight <= min(0.99, 1 - discount): 0.99 binds at the smallest discount ...
        (MAX_WEIGHT + 1, MIN_DISCOUNT, 1, "weight", MAX_WEIGHT + 1, 0, MAX_WEIGHT),
        # ... and 1 - discount above it
        (8 * WAD // 10 + 1, MAX_DISCOUNT, 1, "weight", 8 * WAD // 10 + 1, 0, 8 * WAD // 10),
        (95 * WAD // 100 + 1, 5 * WAD // 100, 1, "weight", 95 * WAD // 100 + 1, 0, 95 * WAD // 100),
        (0, MIN_DISCOUNT, 0, "cap", 0, 1, U128_MAX),
        # checked in order: discount before weight before cap
        (WAD, 0, 0, "liquidationDiscount", 0, MIN_DISCOUNT, MAX_DISCOUNT),
        (WAD, MIN_DISCOUNT, 0, "weight", WAD, 0, MAX_WEIGHT),
    ],
)
def test_set_collateral__out_of_bounds_reverts(bare, owner, weth, weight, discount, cap, name, value, lo, hi):
    with reverts(bare.router.ParamOutOfBounds, name=bytes32(name), value=value, min=lo, max=hi):
        _set(bare, owner, weth, (weight, discount, cap))
    assert bare.router.collateralPoolOf(MARKET_ID) == ZERO_ADDRESS


@pytest.mark.parametrize(
    "params",
    [(MAX_WEIGHT, MIN_DISCOUNT, 1), (8 * WAD // 10, MAX_DISCOUNT, U128_MAX), (0, MIN_DISCOUNT, 1)],
    ids=["max-weight-min-discount", "weight-1-minus-max-discount", "zero-weight"],
)
def test_set_collateral__at_the_bounds_accepted(project, bare, owner, weth, params):
    _set(bare, owner, weth, params)
    assert _pool(project, bare).collateralOf(weth.token)[1] == params


def test_set_collateral__zero_oracle_reverts(bare, owner, weth):
    with reverts(bare.router.ZeroAddress):
        bare.router.setCollateral(MARKET_ID, weth.token, ZERO_ADDRESS, weth.params(), sender=owner)


def test_set_collateral__zero_token_reverts(bare, owner, weth):
    with reverts(bare.router.ZeroAddress):
        bare.router.setCollateral(MARKET_ID, ZERO_ADDRESS, weth.oracle, weth.params(), sender=owner)


def test_set_collateral__oracle_that_cannot_price_reverts(chain, bare, owner, weth):
    make_stale(chain, owner, weth.feed)
    assert weth.oracle.tryPrice() == (False, 0)
    with reverts(bare.router.OracleUnavailable, oracle=weth.oracle.address):
        _set(bare, owner, weth)
    assert bare.router.collateralPoolOf(MARKET_ID) == ZERO_ADDRESS


def test_set_collateral__settlement_token_reverts(bare, owner, weth):
    with reverts(bare.router.SettlementTokenAsCollateral, token=bare.token.address):
        bare.router.setCollateral(MARKET_ID, bare.token, weth.oracle, weth.params(), sender=owner)
    assert bare.router.collateralPoolOf(MARKET_ID) == ZERO_ADDRESS  # the pool creation reverted with it


def test_set_collateral__more_than_18_decimals_reverts(project, bare, owner, weth):
    token = owner.deploy(project.MockERC20, "Nineteen", "N19", 19)
    with reverts(bare.router.CollateralDecimalsUnsupported, decimals=19):
        bare.router.setCollateral(MARKET_ID, token, weth.oracle, weth.params(), sender=owner)


def test_set_collateral__unknown_market_reverts(bare, owner, weth):
    with reverts(bare.router.UnknownMarket, marketId=5):
        _set(bare, owner, weth, market_id=5)


def test_deposit_collateral__market_without_pool_reverts(bare, alice, weth):
    with reverts(bare.router.UnknownCollateral, token=ZERO_ADDRESS):
        bare.router.depositCollateral(MARKET_ID, weth.token, 1, sender=alice)
    with reverts(bare.router.UnknownCollateral, token=ZERO_ADDRESS):
        bare.router.withdrawCollateral(MARKET_ID, weth.token, 1, sender=alice)
    with reverts(bare.router.UnknownMarket, marketId=3):
        bare.router.depositCollateral(3, weth.token, 1, sender=alice)


# ---------------------------------------------------------------- access between the contracts


def test_set_collateral_pool__only_router_and_only_once(chain, project, accounts, bare, owner, alice, weth):
    with reverts(bare.market.OnlyRouter, caller=alice.address):
        bare.market.setCollateralPool(alice, sender=alice)
    _set(bare, owner, weth)
    pool = _pool(project, bare)

    router = accounts.impersonate_account(bare.router.address)
    chain.provider.set_balance(bare.router.address, WAD)
    with reverts(bare.market.CollateralPoolAlreadySet, pool=pool.address):
        bare.market.setCollateralPool(alice, sender=router)
    with reverts(bare.market.ZeroAddress):
        bare.market.setCollateralPool(ZERO_ADDRESS, sender=router)
    assert bare.market.collateralPool() == pool.address


def test_pool__entry_points_only_router_and_market(project, bare, owner, alice, weth):
    _set(bare, owner, weth)
    pool = _pool(project, bare)
    with reverts(pool.OnlyRouter, caller=alice.address):
        pool.setCollateral(weth.token, weth.oracle, weth.params(), sender=alice)
    with reverts(pool.OnlyRouter, caller=alice.address):
        pool.deposit(alice, alice, weth.token, 1, sender=alice)
    with reverts(pool.OnlyRouter, caller=alice.address):
        pool.withdraw(alice, alice, weth.token, 1, sender=alice)
    with reverts(pool.OnlyMarket, marketId=MARKET_ID, caller=alice.address):
        pool.seize(alice, alice, 1, True, sender=alice)
    with reverts(pool.OnlyMarket, marketId=MARKET_ID, caller=owner.address):
        pool.seize(alice, owner, 1, False, sender=owner)
    with reverts(bare.market.OnlyCollateralPool, caller=alice.address):
        bare.market.onCollateralWithdrawn(alice, sender=alice)

