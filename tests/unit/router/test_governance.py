"""PerpRouter governance: construction, createMarket, parameter setters, roles, pause, ownership."""

import pytest
from eth_abi import encode
from eth_utils import keccak

from perpkit.orders import ORDER_TYPEHASH
from tests.conftest import (
    DEFAULT_FUNDING,
    DEFAULT_PARAMS,
    FEED_DECIMALS,
    WAD,
    ZERO_ADDRESS,
    funding_params,
    market_params,
)
from tests.unit.router.conftest import PRICE, assert_deploy_reverts, bytes32, reverts

U128_MAX = 2**128 - 1

pytestmark = pytest.mark.usefixtures("ex")


@pytest.fixture
def new_oracle(make_feed, make_oracle):
    """A fresh BTC oracle at 61,000 (a price distinct from the market's 60,000)."""
    return make_oracle(make_feed(FEED_DECIMALS, 61_000 * 10**FEED_DECIMALS), 86_400)


@pytest.fixture
def stale_oracle(chain, owner, make_feed, make_oracle):
    """An oracle whose feed's last update is one second past its one-hour heartbeat."""
    feed = make_feed(FEED_DECIMALS, 60_000 * 10**FEED_DECIMALS)
    oracle = make_oracle(feed, 3600)
    updated = chain.pending_timestamp - 3601
    feed.updateRoundData(2, 60_000 * 10**FEED_DECIMALS, updated, updated, sender=owner)
    assert oracle.tryPrice() == (False, 0)
    return oracle


def _create(ex, owner, params=None, funding=None, collateral=None, oracle=None):
    return ex.router.createMarket(
        collateral or ex.token,
        oracle or ex.oracle,
        params or market_params(),
        funding or funding_params(),
        sender=owner,
    )


# ---------------------------------------------------------------- construction


def test_constructor__zero_factory_reverts(chain, project, owner):
    router = project.PerpRouter
    assert_deploy_reverts(chain, router, (owner, ZERO_ADDRESS), owner, router.ZeroAddress)


def test_constructor__zero_owner_reverts(chain, project, owner, ex):
    router = project.PerpRouter
    args = (ZERO_ADDRESS, ex.router.factory())
    assert_deploy_reverts(chain, router, args, owner, router.OwnableInvalidOwner, owner=ZERO_ADDRESS)


def test_constructor__wires_funding_rate_factory_and_roles(project, owner, alice, ex):
    router = owner.deploy(project.PerpRouter, alice, ex.router.factory())
    funding = project.FundingRate.at(router.fundingRate())
    assert funding.router() == router.address
    assert router.factory() == ex.router.factory()
    assert router.owner() == alice.address
    assert router.pendingOwner() == ZERO_ADDRESS
    assert (router.matcher(), router.guardian(), funding.sampler()) == (ZERO_ADDRESS,) * 3
    assert router.marketCount() == 0


def test_eip712_domain__is_perp_router_v1_on_this_chain_and_router(chain, ex):
    fields, name, version, chain_id, contract, salt, extensions = ex.router.eip712Domain()
    assert (bytes(fields), name, version) == (b"\x0f", "PerpRouter", "1")
    assert (chain_id, contract, bytes(salt), list(extensions)) == (chain.chain_id, ex.router.address, b"\0" * 32, [])
    domain_typehash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_typehash, keccak(text="PerpRouter"), keccak(text="1"), chain.chain_id, ex.router.address],
        )
    )
    assert bytes(ex.router.domainSeparator()) == expected
    assert bytes(ex.router.ORDER_TYPEHASH()) == ORDER_TYPEHASH


# ---------------------------------------------------------------- createMarket


def test_createMarket__registers_market_with_funding_rate(project, owner, ex, make_token, new_oracle):
    token = make_token("Frax", "FRAX", 18)
    params = market_params(initialMarginRatio=WAD // 5, maxOpenInterest=77 * WAD)
    funding = funding_params(interestRate=2 * 10**14, rateCap=2 * 10**16)

    receipt = _create(ex, owner, params, funding, collateral=token, oracle=new_oracle)

    [created] = receipt.events.filter(ex.router.MarketCreated)
    market_address = created["market"]
    assert (created["marketId"], created["collateral"], created["oracle"]) == (1, token.address, new_oracle.address)
    assert ex.router.marketCount() == 2
    assert ex.router.markets(1) == market_address
    assert ex.router.markets(0) == ex.market.address
    market = project.PerpMarket.at(market_address)
    assert (market.router(), market.marketId(), market.collateral()) == (ex.router.address, 1, token.address)
    assert (market.oracle(), market.fundingRate()) == (new_oracle.address, ex.funding.address)
    assert market.collateralScale() == 1
    assert market.params() == params
    assert ex.funding.marketOf(1) == market_address
    assert ex.funding.paramsOf(1) == funding
    [registered] = receipt.events.filter(ex.funding.MarketRegistered)
    assert (registered["marketId"], registered["market"]) == (1, market_address)


def test_createMarket__non_owner_reverts(ex, alice):
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        _create(ex, alice)
    assert ex.router.marketCount() == 1


MARKET_BOUNDS = [
    # (field, value, min, max) with every other parameter at its default
    ("initialMarginRatio", 10**16 - 1, 10**16, WAD),
    ("initialMarginRatio", WAD + 1, 10**16, WAD),
    ("maintenanceMarginRatio", 10**15 - 1, 10**15, WAD // 10 - 1),
    ("maintenanceMarginRatio", WAD // 10, 10**15, WAD // 10 - 1),  # must stay below initial
    ("liquidationFee", 5 * 10**16 + 1, 0, 5 * 10**16),
    ("liquidatorShare", WAD + 1, 0, WAD),
    ("makerFee", 10**16 + 1, 0, 10**16),
    ("takerFee", 10**16 + 1, 0, 10**16),
    ("priceBand", 10**15 - 1, 10**15, WAD // 5),
    ("priceBand", WAD // 5 + 1, 10**15, WAD // 5),
    ("maxOpenInterest", 0, 1, U128_MAX),
    ("warmupPeriod", 59, 60, 86_400),
    ("warmupPeriod", 86_401, 60, 86_400),
    ("minPositionSize", 0, 1, 1_000 * WAD),
    ("minPositionSize", 1_000 * WAD + 1, 1, 1_000 * WAD),  # at most the OI cap
]
FUNDING_BOUNDS = [
    ("interestRate", 10**15 + 1, 0, 10**15),
    ("premiumClamp", 10**16 + 1, 0, 10**16),
    ("rateCap", 10**14 - 1, 10**14, 5 * 10**16),  # at least the interest rate
    ("rateCap", 5 * 10**16 + 1, 10**14, 5 * 10**16),
]


@pytest.mark.parametrize("name, value, lo, hi", MARKET_BOUNDS, ids=lambda v: str(v))
def test_createMarket__market_param_out_of_bounds_reverts(ex, owner, name, value, lo, hi):
    with reverts(ex.router.ParamOutOfBounds, name=bytes32(name), value=value, min=lo, max=hi):
        _create(ex, owner, params=market_params(**{name: value}))


@pytest.mark.parametrize("name, value, lo, hi", FUNDING_BOUNDS, ids=lambda v: str(v))
def test_createMarket__funding_param_out_of_bounds_reverts(ex, owner, name, value, lo, hi):
    with reverts(ex.router.ParamOutOfBounds, name=bytes32(name), value=value, min=lo, max=hi):
        _create(ex, owner, funding=funding_params(**{name: value}))


def test_createMarket__every_param_at_its_lower_bound_accepted(ex, owner):
    params = market_params(
        initialMarginRatio=10**16,
        maintenanceMarginRatio=10**15,
        liquidationFee=0,
        liquidatorShare=0,
        makerFee=0,
        takerFee=0,
        priceBand=10**15,
        warmupPeriod=60,
        maxOpenInterest=1,
        minPositionSize=1,
    )
    funding = funding_params(interestRate=0, premiumClamp=0, rateCap=0)
    _create(ex, owner, params, funding)
    assert ex.router.marketCount() == 2
    assert ex.funding.paramsOf(1) == funding


def test_createMarket__every_param_at_its_upper_bound_accepted(project, ex, owner):
    params = market_params(
        initialMarginRatio=WAD,
        maintenanceMarginRatio=WAD - 1,
        liquidationFee=5 * 10**16,
        liquidatorShare=WAD,
        makerFee=10**16,
        takerFee=10**16,
        priceBand=WAD // 5,
        warmupPeriod=86_400,
        maxOpenInterest=U128_MAX,
        minPositionSize=U128_MAX,
    )
    funding = funding_params(interestRate=10**15, premiumClamp=10**16, rateCap=5 * 10**16)
    _create(ex, owner, params, funding)
    assert project.PerpMarket.at(ex.router.markets(1)).params() == params
    assert ex.funding.paramsOf(1) == funding


def test_createMarket__envelope_equality_reverts(ex, owner):
    # 0.07 = rateCap 0.01 + liquidationFee 0.01 + priceBand 0.05: the inequality is strict.
    imr = 7 * 10**16
    with reverts(
        ex.router.EnvelopeViolated,
        initialMarginRatio=imr,
        fundingRateCap=DEFAULT_FUNDING["rateCap"],
        liquidationFee=DEFAULT_PARAMS["liquidationFee"],
        priceBand=DEFAULT_PARAMS["priceBand"],
    ):
        _create(ex, owner, params=market_params(initialMarginRatio=imr, maintenanceMarginRatio=imr // 2))


def test_createMarket__envelope_one_wei_inside_accepted(project, ex, owner):
    params = market_params(initialMarginRatio=7 * 10**16 + 1, maintenanceMarginRatio=35 * 10**15)
    _create(ex, owner, params=params)
    assert project.PerpMarket.at(ex.router.markets(1)).params() == params


@pytest.mark.parametrize("which", ["collateral", "oracle"])
def test_createMarket__zero_address_reverts(ex, owner, which):
    with reverts(ex.router.ZeroAddress):
        _create(ex, owner, **{which: ZERO_ADDRESS})


def test_createMarket__stale_oracle_reverts(ex, owner, stale_oracle):
    with reverts(ex.router.OracleUnavailable, oracle=stale_oracle.address):
        _create(ex, owner, oracle=stale_oracle)


def test_createMarket__reverting_feed_reverts(ex, owner, make_feed, make_oracle):
    feed = make_feed(FEED_DECIMALS, 60_000 * 10**FEED_DECIMALS)
    oracle = make_oracle(feed, 3600)
    feed.setReverting(True, sender=owner)
    with reverts(ex.router.OracleUnavailable, oracle=oracle.address):
        _create(ex, owner, oracle=oracle)


def test_createMarket__collateral_over_18_decimals_reverts(ex, owner, make_token):
    token = make_token("Too Precise", "TP", 19)
    with reverts(ex.router.CollateralDecimalsUnsupported, decimals=19):
        _create(ex, owner, collateral=token)
    assert ex.router.marketCount() == 1


# ---------------------------------------------------------------- markets / UnknownMarket


def test_markets__unknown_id_reverts(ex, alice):
    # Sent as transactions: ape decodes a custom error of a reverted transaction, not of an eth_call.
    with reverts(ex.router.UnknownMarket, marketId=1):
        ex.router.markets.transact(1, sender=alice)
    with reverts(ex.router.UnknownMarket, marketId=2**256 - 1):
        ex.router.markets.transact(2**256 - 1, sender=alice)


UNKNOWN_MARKET_CALLS = {
    "deposit": lambda ex, a: ex.router.deposit(1, 1, sender=a["alice"]),
    "depositFor": lambda ex, a: ex.router.depositFor(1, a["bob"], 1, sender=a["alice"]),
    "withdraw": lambda ex, a: ex.router.withdraw(1, 1, sender=a["alice"]),
    "setMarketParams": lambda ex, a: ex.router.setMarketParams(1, market_params(), sender=a["owner"]),
    "setFundingParams": lambda ex, a: ex.router.setFundingParams(1, funding_params(), sender=a["owner"]),
    "setOracle": lambda ex, a: ex.router.setOracle(1, ex.oracle, sender=a["owner"]),
    "setPaused": lambda ex, a: ex.router.setPaused(1, True, sender=a["owner"]),
}


@pytest.mark.parametrize("call", UNKNOWN_MARKET_CALLS, ids=list(UNKNOWN_MARKET_CALLS))
def test_market_call__unknown_market_reverts(ex, owner, alice, bob, call):
    with reverts(ex.router.UnknownMarket, marketId=1):
        UNKNOWN_MARKET_CALLS[call](ex, {"owner": owner, "alice": alice, "bob": bob})


def test_withdrawFor__unknown_market_reverts(ex, alice, bob):
    ex.router.setOperator(bob, True, sender=alice)
    with reverts(ex.router.UnknownMarket, marketId=1):
        ex.router.withdrawFor(1, alice, 1, sender=bob)


# ---------------------------------------------------------------- setMarketParams / setFundingParams


def test_setMarketParams__updates_market_params(ex, owner):
    params = market_params(takerFee=7 * 10**14, maxOpenInterest=5 * WAD, minPositionSize=WAD // 100)
    receipt = ex.router.setMarketParams(0, params, sender=owner)
    assert ex.market.params() == params
    [event] = receipt.events.filter(ex.market.ParamsSet)
    assert tuple(event["params"]) == params


def test_setMarketParams__non_owner_reverts(ex, alice):
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        ex.router.setMarketParams(0, market_params(makerFee=0), sender=alice)
    assert ex.market.params() == market_params()


def test_setMarketParams__out_of_bounds_reverts(ex, owner):
    with reverts(ex.router.ParamOutOfBounds, name=bytes32("priceBand"), value=WAD // 5 + 1, min=10**15, max=WAD // 5):
        ex.router.setMarketParams(0, market_params(priceBand=WAD // 5 + 1), sender=owner)


def test_setMarketParams__envelope_against_current_funding_reverts(ex, owner):
    # 0.10 = rateCap 0.01 + liquidationFee 0.01 + priceBand 0.08
    with reverts(
        ex.router.EnvelopeViolated,
        initialMarginRatio=WAD // 10,
        fundingRateCap=10**16,
        liquidationFee=10**16,
        priceBand=8 * 10**16,
    ):
        ex.router.setMarketParams(0, market_params(priceBand=8 * 10**16), sender=owner)
    assert ex.market.params() == market_params()


def test_setFundingParams__updates_funding_params(ex, owner):
    funding = funding_params(interestRate=0, premiumClamp=10**15, rateCap=2 * 10**16)
    receipt = ex.router.setFundingParams(0, funding, sender=owner)
    assert ex.funding.paramsOf(0) == funding
    [event] = receipt.events.filter(ex.funding.FundingParamsSet)
    assert (event["marketId"], tuple(event["params"])) == (0, funding)


def test_setFundingParams__non_owner_reverts(ex, alice):
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        ex.router.setFundingParams(0, funding_params(interestRate=0), sender=alice)


def test_setFundingParams__out_of_bounds_reverts(ex, owner):
    with reverts(ex.router.ParamOutOfBounds, name=bytes32("rateCap"), value=5 * 10**16 + 1, min=10**14, max=5 * 10**16):
        ex.router.setFundingParams(0, funding_params(rateCap=5 * 10**16 + 1), sender=owner)


def test_setFundingParams__envelope_against_current_market_reverts(ex, owner):
    # 0.10 = rateCap 0.04 + liquidationFee 0.01 + priceBand 0.05
    with reverts(
        ex.router.EnvelopeViolated,
        initialMarginRatio=WAD // 10,
        fundingRateCap=4 * 10**16,
        liquidationFee=10**16,
        priceBand=5 * 10**16,
    ):
        ex.router.setFundingParams(0, funding_params(rateCap=4 * 10**16), sender=owner)
    assert ex.funding.paramsOf(0) == funding_params()


# ---------------------------------------------------------------- setOracle


def test_setOracle__points_market_at_new_oracle(ex, owner, new_oracle):
    receipt = ex.router.setOracle(0, new_oracle, sender=owner)
    assert ex.market.oracle() == new_oracle.address
    assert ex.funding.markPrice(0) == 61_000 * WAD
    [event] = receipt.events.filter(ex.market.OracleSet)
    assert event["oracle"] == new_oracle.address


def test_setOracle__non_owner_reverts(ex, alice, new_oracle):
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        ex.router.setOracle(0, new_oracle, sender=alice)
    assert ex.market.oracle() == ex.oracle.address


def test_setOracle__zero_address_reverts(ex, owner):
    with reverts(ex.router.ZeroAddress):
        ex.router.setOracle(0, ZERO_ADDRESS, sender=owner)


def test_setOracle__stale_oracle_reverts(ex, owner, stale_oracle):
    with reverts(ex.router.OracleUnavailable, oracle=stale_oracle.address):
        ex.router.setOracle(0, stale_oracle, sender=owner)
    assert ex.market.oracle() == ex.oracle.address
    assert ex.funding.markPrice(0) == PRICE


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["matcher", "guardian", "sampler"])
def test_setRole__sets_role_and_emits(ex, owner, carol, role):
    setter = getattr(ex.router, "set" + role.capitalize())
    receipt = setter(carol, sender=owner)
    current = ex.funding.sampler() if role == "sampler" else getattr(ex.router, role)()
    assert current == carol.address
    [event] = receipt.events.filter(ex.router.RoleSet)
    assert (bytes(event["role"]), event["account"]) == (bytes32(role), carol.address)


@pytest.mark.parametrize("role", ["matcher", "guardian", "sampler"])
def test_setRole__non_owner_reverts(ex, alice, role):
    setter = getattr(ex.router, "set" + role.capitalize())
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        setter(alice, sender=alice)


def test_setSampler__moves_the_quote_role(ex, owner, matcher, carol):
    ex.router.setSampler(carol, sender=owner)
    with reverts(ex.funding.OnlySampler, caller=matcher.address):
        ex.funding.recordQuote(0, 59_990 * WAD, 60_010 * WAD, sender=matcher)
    ex.funding.recordQuote(0, 59_990 * WAD, 60_010 * WAD, sender=carol)
    assert ex.funding.premiumState(0)[0] == 1


# ---------------------------------------------------------------- setPaused


@pytest.mark.parametrize("who", ["guardian", "owner"])
def test_setPaused__guardian_or_owner_pauses_and_unpauses(ex, request, who):
    caller = request.getfixturevalue(who)
    receipt = ex.router.setPaused(0, True, sender=caller)
    assert ex.market.paused() is True
    assert [e["paused"] for e in receipt.events.filter(ex.market.Paused)] == [True]
    receipt = ex.router.setPaused(0, False, sender=caller)
    assert ex.market.paused() is False
    assert [e["paused"] for e in receipt.events.filter(ex.market.Paused)] == [False]


@pytest.mark.parametrize("who", ["alice", "matcher"])
def test_setPaused__other_caller_reverts(ex, request, who):
    caller = request.getfixturevalue(who)
    with reverts(ex.router.OnlyGuardian, caller=caller.address):
        ex.router.setPaused(0, True, sender=caller)
    assert ex.market.paused() is False


def test_setPaused__former_guardian_reverts(ex, owner, guardian, carol):
    ex.router.setGuardian(carol, sender=owner)
    with reverts(ex.router.OnlyGuardian, caller=guardian.address):
        ex.router.setPaused(0, True, sender=guardian)
    ex.router.setPaused(0, True, sender=carol)
    assert ex.market.paused() is True


# ---------------------------------------------------------------- ownership (two-step)


def test_transferOwnership__only_nominates_until_accepted(ex, owner, alice):
    receipt = ex.router.transferOwnership(alice, sender=owner)
    assert ex.router.owner() == owner.address
    assert ex.router.pendingOwner() == alice.address
    [event] = receipt.events.filter(ex.router.OwnershipTransferStarted)
    assert (event["previousOwner"], event["newOwner"]) == (owner.address, alice.address)
    # The current owner keeps its powers until the nominee accepts.
    ex.router.setMatcher(owner, sender=owner)
    assert ex.router.matcher() == owner.address


def test_transferOwnership__non_owner_reverts(ex, alice):
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        ex.router.transferOwnership(alice, sender=alice)
    assert ex.router.pendingOwner() == ZERO_ADDRESS


def test_acceptOwnership__nominee_becomes_owner(ex, owner, alice):
    ex.router.transferOwnership(alice, sender=owner)
    receipt = ex.router.acceptOwnership(sender=alice)
    assert ex.router.owner() == alice.address
    assert ex.router.pendingOwner() == ZERO_ADDRESS
    [event] = receipt.events.filter(ex.router.OwnershipTransferred)
    assert (event["previousOwner"], event["newOwner"]) == (owner.address, alice.address)
    with reverts(ex.router.OwnableUnauthorizedAccount, account=owner.address):
        _create(ex, owner)
    _create(ex, alice)
    assert ex.router.marketCount() == 2


def test_acceptOwnership__other_than_nominee_reverts(ex, owner, alice, bob):
    ex.router.transferOwnership(alice, sender=owner)
    with reverts(ex.router.OwnableUnauthorizedAccount, account=bob.address):
        ex.router.acceptOwnership(sender=bob)
    assert ex.router.owner() == owner.address


def test_renounceOwnership__non_owner_reverts(ex, alice):
    with reverts(ex.router.OwnableUnauthorizedAccount, account=alice.address):
        ex.router.renounceOwnership(sender=alice)
    assert ex.router.owner() == ex.owner.address
