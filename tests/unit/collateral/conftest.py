"""Multi-collateral fixtures and the reference formulas of CollateralPool (issue 7).

`cx` is one deployment per test module: a BTC-USD market (id 0, index 60,000) settled in an
18-decimal token (capital exact to the wei), without trading fees (so every value below is a round
number), maintenance 8 % (so a 30 % drop of the collateral alone can make an account opened at
initial margin liquidatable: 0.7 x 10 % < 8 %), and three collateral tokens registered in the order
USDT, WBTC, WETH (the reverse of their weights, so registration order and weight order differ).
ape's chain isolation reverts each test's transactions: every test starts from this state.
"""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.conftest import FEED_DECIMALS, WAD, market_params
from tests.reverts import reverts  # noqa: F401 - re-exported to the collateral tests
from tests.unit.router.conftest import with_errors_of

U128_MAX = 2**128 - 1
BTC = 60_000 * WAD  # the market's index, mark and fill price unless a test moves it
IMR = WAD // 10
MMR = 8 * WAD // 100
COLLATERAL_HEARTBEAT = 3_600
MARKET_ID = 0
# Market defaults with no trading fee and maintenance at 8 %; the envelope still holds:
# 10 % > 1 % rate cap + 1 % liquidation fee + 5 % band.
PARAMS = dict(makerFee=0, takerFee=0, maintenanceMarginRatio=MMR)


def usd(x) -> int:
    """USD (int or str for exactness) -> WAD."""
    return int(Decimal(str(x)) * WAD)


@dataclass(frozen=True)
class Spec:
    symbol: str
    decimals: int
    price: int  # whole USD per token
    weight: int
    discount: int


# Registration order (index 0, 1, 2): the weights descend, so the lowest weight has the highest index.
SPECS = (
    Spec("USDT", 6, 1, 95 * WAD // 100, 2 * WAD // 100),
    Spec("WBTC", 8, 60_000, 90 * WAD // 100, 5 * WAD // 100),
    Spec("WETH", 18, 3_000, 80 * WAD // 100, 5 * WAD // 100),
)


@dataclass
class Collateral:
    """One registered collateral token with its feed and oracle."""

    spec: Spec
    token: object
    feed: object
    oracle: object
    owner: object

    @property
    def scale(self) -> int:
        return 10 ** (18 - self.spec.decimals)

    @property
    def unit(self) -> int:
        """One whole token in token units."""
        return 10**self.spec.decimals

    def params(self, weight=None, discount=None, cap=U128_MAX):
        return (self.spec.weight if weight is None else weight, self.spec.discount if discount is None else discount, cap)

    def set_price(self, usd_price):
        """Move the feed to `usd_price` (int or str USD): a fresh round."""
        self.feed.updateAnswer(int(Decimal(str(usd_price)) * 10**FEED_DECIMALS), sender=self.owner)

    def price_wad(self) -> int:
        return self.feed.latestAnswer() * 10 ** (18 - FEED_DECIMALS)


def make_stale(chain, owner, feed, heartbeat=COLLATERAL_HEARTBEAT):
    """A new latest round of `feed`, same answer, updated one second past `heartbeat` ago."""
    updated = chain.pending_timestamp - heartbeat - 1
    feed.updateRoundData(feed.latestRound() + 1, feed.latestAnswer(), updated, updated, sender=owner)


# ---------------------------------------------------------------- reference formulas


def ceil_div(x, d):
    return -(-x // d)


def weighted(balance, scale, price, weight):
    """`mulWadDown(mulDivDown(balance * scale, price, 1e18), weight)`: the margin a balance counts for."""
    return (balance * scale * price // WAD) * weight // WAD


def value_of(c: Collateral, balance, price=None, weight=None):
    return weighted(balance, c.scale, c.price_wad() if price is None else price, c.spec.weight if weight is None else weight)


def seize_one(balance, scale, price, discount, max_repay, clears_debt):
    """(amount, cost) of one token's sale, as in CollateralPool._seizeOne: the units rounded up
    when the sale repays the whole debt (`clears_debt`, the market's `maxRepay >= debt`), else down;
    capped at the balance; the units' cost rounded up, capped at `max_repay`. (0, 0): skipped."""
    unit_price = ceil_div(price * (WAD - discount), WAD)
    if clears_debt:
        amount = ceil_div(ceil_div(max_repay * WAD, unit_price), scale)
    else:
        amount = max_repay * WAD // unit_price // scale
    amount = min(amount, balance)
    if amount == 0:
        return 0, 0
    return amount, min(ceil_div(amount * scale * unit_price, WAD), max_repay)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session", autouse=True)
def _session_fixtures_first(owner, alice, bob, carol, dave, erin, keeper, matcher, guardian, make_exchange):
    """Every session fixture these tests use, set up before ape's first snapshot (a later one makes
    ape rebase the module fixtures)."""


def deploy_collateral_exchange(project, chain, owner, make_exchange, make_feed, make_oracle, register=True):
    ex = make_exchange(decimals=18, params=market_params(**PARAMS))
    ex.collaterals = {}
    for spec in SPECS:
        token = owner.deploy(project.MockERC20, spec.symbol, spec.symbol, spec.decimals)
        feed = make_feed(FEED_DECIMALS, spec.price * 10**FEED_DECIMALS)
        oracle = make_oracle(feed, COLLATERAL_HEARTBEAT)
        c = Collateral(spec, token, feed, oracle, owner)
        ex.collaterals[spec.symbol] = c
        if register:
            ex.router.setCollateral(MARKET_ID, token, oracle, c.params(), sender=owner)
    ex.pool = project.CollateralPool.at(ex.router.collateralPoolOf(MARKET_ID)) if register else None
    # Errors of the market, the pool, the tokens and the oracle bubble through the router: with their
    # ABI on it ape decodes them at once (see tests/unit/router/conftest.py:with_errors_of).
    ex.router = with_errors_of(
        chain, ex.router, project.PerpMarket, project.CollateralPool, project.MockERC20, project.ChainlinkOracle
    )
    ex.market = with_errors_of(chain, ex.market, project.CollateralPool, project.ChainlinkOracle)
    return ex


@pytest.fixture(scope="module")
def cx(project, chain, owner, make_exchange, make_feed, make_oracle):
    """The deployment described in the module docstring; nobody funded."""
    return deploy_collateral_exchange(project, chain, owner, make_exchange, make_feed, make_oracle)


# ---------------------------------------------------------------- moves


def deposit(cx, account, c: Collateral, amount, payer=None):
    """Mint `amount` of `c` to the payer (default `account`), approve and deposit for `account`."""
    payer = payer or account
    c.token.mint(payer, amount, sender=payer)
    c.token.approve(cx.router, amount, sender=payer)
    if payer == account:
        return cx.router.depositCollateral(MARKET_ID, c.token, amount, sender=account)
    return cx.router.depositCollateralFor(MARKET_ID, account, c.token, amount, sender=payer)


def fund(cx, account, wad):
    """Deposit `wad` of the 18-decimal settlement token as capital."""
    return cx.fund(account, wad)


def open_long(cx, trader, counterparty, size, price=BTC):
    """`trader` buys `size` (WAD) as taker from `counterparty` at `price`."""
    return cx.trade(counterparty, trader, -size, price)


def set_btc(cx, usd_price):
    cx.set_price(usd_price)


@pytest.fixture
def at_imr(cx, alice, bob):
    """alice: 600 of capital and 1 WETH (2,400 of margin at weight 0.8), long 0.5 BTC at 60,000 from
    bob: value 3,000 = initial margin exactly; maintenance 2,400."""
    weth = cx.collaterals["WETH"]
    fund(cx, bob, usd(1_000_000))
    fund(cx, alice, usd(600))
    deposit(cx, alice, weth, WAD)
    open_long(cx, alice, bob, WAD // 2)
    assert cx.market.accountValue(alice) == usd(3_000)
    assert cx.market.marginRequirements(alice) == (usd(3_000), usd(2_400))
    return cx


# alice's debt after `in_debt`: the 1,500 loss less her 600 of capital. The liquidation fee (1 % of
# 0.5 x 57,000 = 285, under the value cap 1,500) is charged only as far as capital and positive PnL
# cover it after the takeover: nothing is left, so it is 0.
DEBT = usd(900)
KEEPER_CAPITAL = usd(100_000)


@pytest.fixture
def in_debt(at_imr, alice, keeper):
    """`at_imr`, then BTC falls to 57,000 (value 600 - 1,500 + 2,400 = 1,500 < maintenance 2,280)
    and the keeper (100,000 of capital) liquidates all of it for no fee: alice is flat, owes 900
    (`DEBT`) and holds 1 WETH; the keeper is long 0.5 at 57,000. `cx.liquidation` is the receipt."""
    cx = at_imr
    fund(cx, keeper, KEEPER_CAPITAL)
    set_btc(cx, 57_000)
    assert cx.market.accountValue(alice) == usd(1_500)
    cx.liquidation = cx.market.liquidate(alice, WAD // 2, sender=keeper)
    assert (cx.market.capitalOf(alice), cx.market.pnlOf(alice), cx.market.positionOf(alice)[0]) == (0, -DEBT, 0)
    return cx
