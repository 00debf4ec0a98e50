"""Session-scoped role accounts and factory fixtures shared by every test folder."""

import functools
from dataclasses import dataclass, field
from itertools import count

import pytest

from perpkit.orders import Order, fill_tuple, sign_order
from perpkit.model import WAD

BTC_PRICE = 60_000
FEED_DECIMALS = 8

# Defaults of a market: 10x max leverage, 5 % maintenance, 1 % liquidation fee (half to the
# liquidator), 2 / 5 bp maker / taker fees, 5 % price band, 1,000 BTC OI cap, 0.001 BTC minimum.
DEFAULT_PARAMS = dict(
    initialMarginRatio=WAD // 10,
    maintenanceMarginRatio=WAD // 20,
    liquidationFee=WAD // 100,
    liquidatorShare=WAD // 2,
    makerFee=2 * 10**14,
    takerFee=5 * 10**14,
    priceBand=5 * WAD // 100,
    warmupPeriod=3_600,
    maxOpenInterest=1_000 * WAD,
    minPositionSize=WAD // 1000,
)
DEFAULT_FUNDING = dict(interestRate=10**14, premiumClamp=5 * 10**14, rateCap=10**16)


def market_params(**overrides):
    p = {**DEFAULT_PARAMS, **overrides}
    return tuple(p[k] for k in DEFAULT_PARAMS)


def funding_params(**overrides):
    f = {**DEFAULT_FUNDING, **overrides}
    return tuple(f[k] for k in DEFAULT_FUNDING)


@pytest.fixture(scope="session", autouse=True)
def _fresh_build(project):
    """ape-solidity rebuilds a changed contract but not the ones embedding its creation code: a
    stale factory or router would deploy old code. Refuse to test a build like that."""
    embedded = [("PerpMarketFactory", "PerpMarket"), ("PerpRouter", "FundingRate"), ("PerpRouter", "CollateralPool")]
    for outer, inner in embedded:
        outer_code = getattr(project, outer).contract_type.deployment_bytecode.bytecode
        inner_code = getattr(project, inner).contract_type.deployment_bytecode.bytecode
        if inner_code[2:] not in outer_code:
            pytest.exit(f"stale build: {outer} embeds an old {inner}; run `make compile` (ape compile --force)", 2)


@pytest.fixture(scope="session", autouse=True)
def _cached_dev_account_derivation():
    """Test-harness speed only. On every reverted transaction ape-foundry prints the call trace,
    and labelling its addresses re-derives all ten test accounts from the mnemonic in pure Python
    (~1.3 s per revert). The derivation is a pure function: memoise it while the tests run."""
    import ape_test.accounts

    original = ape_test.accounts.generate_dev_accounts
    ape_test.accounts.generate_dev_accounts = functools.cache(original)
    yield
    ape_test.accounts.generate_dev_accounts = original


@pytest.fixture(scope="module", autouse=True)
def _forget_contract_addresses():
    """ape reverts each module's chain state when it ends, so the next module's deployments reuse
    the same addresses (same deployer, same nonces); ape would still know them as the old
    contracts and decode a revert there with the wrong ABI. Forget them with the state.
    (ape's chain is imported, not requested: some modules define their own `chain` fixture.)"""
    yield
    import ape

    ape.chain.contracts.clear_local_caches()


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def dave(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def erin(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def make_feed(project, owner):
    """Deploy a MockV3Aggregator with `decimals` and an initial `answer` (in feed units)."""

    def make(decimals=8, answer=60_000 * 10**8):
        return owner.deploy(project.MockV3Aggregator, decimals, answer)

    return make


@pytest.fixture(scope="session")
def make_oracle(project, owner):
    """Deploy a ChainlinkOracle over `feed`; `sequencer` is an uptime feed or None."""

    def make(feed, heartbeat=3600, sequencer=None, grace_period=0):
        sequencer_address = sequencer.address if sequencer is not None else ZERO_ADDRESS
        return owner.deploy(project.ChainlinkOracle, feed, heartbeat, sequencer_address, grace_period)

    return make


@pytest.fixture(scope="session")
def make_token(project, owner):
    """Deploy a MockERC20 (EIP-2612 permit) with `decimals`."""

    def make(name="USD Coin", symbol="USDC", decimals=6):
        return owner.deploy(project.MockERC20, name, symbol, decimals)

    return make


ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="session")
def matcher(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[6]


@dataclass
class Exchange:
    """One deployment with one market, and the moves tests make on it."""

    chain: object
    router: object
    funding: object
    market: object
    market_id: int
    token: object
    feed: object
    oracle: object
    owner: object
    matcher: object
    nonces: dict = field(default_factory=dict)
    _counter: count = field(default_factory=count)

    @property
    def scale(self):
        return 10 ** (18 - self.token.decimals())

    def fund(self, account, amount):
        """Mint `amount` tokens to `account`, approve the router and deposit them."""
        self.token.mint(account, amount, sender=account)
        self.token.approve(self.router, amount, sender=account)
        return self.router.deposit(self.market_id, amount, sender=account)

    def order(self, trader, size, price, *, nonce=None, expiry=None, reduce_only=False, market_id=None):
        if nonce is None:
            nonce = next(self._counter)
        if expiry is None:
            expiry = self.chain.pending_timestamp + 10 * 86_400
        return Order(
            trader.address,
            self.market_id if market_id is None else market_id,
            size,
            price,
            nonce,
            expiry,
            reduce_only,
        )

    def sign(self, order, signer):
        return sign_order(order, signer.private_key, self.chain.chain_id, self.router.address)

    def fill(self, maker_order, taker_order, amount, maker_signer, taker_signer):
        return fill_tuple(
            maker_order, self.sign(maker_order, maker_signer), taker_order, self.sign(taker_order, taker_signer), amount
        )

    def trade(self, maker, taker, size, price, **kw):
        """`maker` rests an order of signed `size` at `price`; `taker` takes all of it."""
        mk = self.order(maker, size, price, reduce_only=kw.pop("maker_reduce_only", False))
        tk = self.order(taker, -size, price, reduce_only=kw.pop("taker_reduce_only", False))
        return self.router.settle([self.fill(mk, tk, abs(size), maker, taker)], sender=self.matcher, **kw)

    def set_price(self, usd):
        """Move the mock feed to `usd` (float or int USD)."""
        self.feed.updateAnswer(int(round(usd * 10**FEED_DECIMALS)), sender=self.owner)


def deploy_exchange(
    deploy, at, chain, owner, matcher, guardian, *, decimals=6, params=None, funding=None, price=BTC_PRICE, heartbeat=86_400
) -> Exchange:
    """Factory, router (which deploys FundingRate), a collateral token, a BTC feed and oracle, and
    one market; `matcher` settles and samples quotes, `guardian` pauses. The one deployment
    sequence of the tests, the benchmarks and the in-process fuzz suite: `deploy(name, *args)` and
    `at(name, address)` come from the chain (ape's project, or `perpkit.evm.InProcessChain`)."""
    factory = deploy("PerpMarketFactory")
    router = deploy("PerpRouter", owner, factory)
    funding_rate = at("FundingRate", router.fundingRate())
    name, symbol = ("USD Coin", "USDC") if decimals == 6 else ("Frax", "FRAX")
    token = deploy("MockERC20", name, symbol, decimals)
    feed = deploy("MockV3Aggregator", FEED_DECIMALS, price * 10**FEED_DECIMALS)
    oracle = deploy("ChainlinkOracle", feed, heartbeat, ZERO_ADDRESS, 0)
    router.createMarket(token, oracle, params or market_params(), funding or funding_params(), sender=owner)
    market_id = router.marketCount() - 1
    market = at("PerpMarket", router.markets(market_id))
    router.setMatcher(matcher, sender=owner)
    router.setSampler(matcher, sender=owner)
    router.setGuardian(guardian, sender=owner)
    return Exchange(chain, router, funding_rate, market, market_id, token, feed, oracle, owner, matcher)


def ape_deployer(project, owner, containers=None):
    """`deploy` and `at` for `deploy_exchange` over ape's project; `containers` overrides some
    contracts by name (a PerpMarketFactory built from mutated sources, say)."""
    containers = containers or {}

    def deploy(name, *args):
        return owner.deploy(containers.get(name) or getattr(project, name), *args)

    def at(name, address):
        return getattr(project, name).at(address)

    return deploy, at


@pytest.fixture(scope="session")
def make_exchange(project, owner, matcher, guardian, chain):
    """`deploy_exchange` on Anvil, with the session's role accounts."""

    def make(factory_container=None, **kw):
        # factory_container: a PerpMarketFactory built from other sources
        containers = {"PerpMarketFactory": factory_container} if factory_container else None
        deploy, at = ape_deployer(project, owner, containers)
        return deploy_exchange(deploy, at, chain, owner, matcher, guardian, **kw)

    return make


@pytest.fixture
def ex(make_exchange):
    return make_exchange()
