"""FundingRate's router-only functions (constructor, registerMarket, setParams, syncOracle, setSampler), on a
stand-alone FundingRate whose `router` is the `owner` EOA, and on a deployed exchange."""

import ape
import pytest

from tests.conftest import ZERO_ADDRESS, WAD, funding_params
from tests.unit.funding.conftest import INDEX

# The module's exchange is deployed before the first test, so that ape's isolation snapshots it.
pytestmark = pytest.mark.usefixtures("ex")


@pytest.fixture
def standalone(project, owner):
    return owner.deploy(project.FundingRate, owner)


def test_constructor__zero_router_reverts(project, owner):
    with ape.reverts(project.FundingRate.ZeroAddress):
        owner.deploy(project.FundingRate, ZERO_ADDRESS)


def test_registerMarket__records_market_and_params(standalone, ex, owner, chain):
    params = funding_params(interestRate=2 * 10**14, premiumClamp=10**14, rateCap=2 * 10**16)
    receipt = standalone.registerMarket(7, ex.market, params, sender=owner)
    assert [dict(log.event_arguments) for log in standalone.MarketRegistered.from_receipt(receipt)] == [
        {"marketId": 7, "market": ex.market.address}
    ]
    logs = standalone.FundingParamsSet.from_receipt(receipt)
    assert [(log.marketId, tuple(log.params)) for log in logs] == [(7, params)]
    assert standalone.marketOf(7) == ex.market.address
    assert standalone.paramsOf(7) == params
    assert standalone.premiumState(7) == (0, 0, 0, 0, chain.blocks.head.timestamp)
    assert standalone.fundingRate(7) == 0
    assert standalone.fundingIndex(7) == 0
    assert standalone.markPrice(7) == INDEX  # read through the market's oracle
    assert standalone.currentFundingRate(7) == 2 * 10**14 - 10**14  # F = P + clamp(I - P) = 0 + 0.01 %


def test_registerMarket__non_router_reverts(standalone, ex, alice):
    with ape.reverts(standalone.OnlyRouter, caller=alice.address):
        standalone.registerMarket(7, ex.market, funding_params(), sender=alice)


def test_registerMarket__twice_reverts(standalone, ex, owner, alice):
    standalone.registerMarket(7, ex.market, funding_params(), sender=owner)
    with ape.reverts(standalone.MarketAlreadyRegistered, marketId=7):
        standalone.registerMarket(7, alice, funding_params(), sender=owner)
    assert standalone.marketOf(7) == ex.market.address


def test_registerMarket__zero_market_reverts(standalone, owner):
    with ape.reverts(standalone.ZeroAddress):
        standalone.registerMarket(7, ZERO_ADDRESS, funding_params(), sender=owner)
    assert standalone.marketOf(7) == ZERO_ADDRESS


def test_setParams__updates_params_and_emits(standalone, ex, owner):
    standalone.registerMarket(7, ex.market, funding_params(), sender=owner)
    params = funding_params(interestRate=0, premiumClamp=0, rateCap=5 * 10**16)
    receipt = standalone.setParams(7, params, sender=owner)
    logs = standalone.FundingParamsSet.from_receipt(receipt)
    assert [(log.marketId, tuple(log.params)) for log in logs] == [(7, params)]
    assert standalone.paramsOf(7) == params
    assert standalone.currentFundingRate(7) == 0


def test_setParams__non_router_reverts(standalone, ex, owner, alice):
    standalone.registerMarket(7, ex.market, funding_params(), sender=owner)
    with ape.reverts(standalone.OnlyRouter, caller=alice.address):
        standalone.setParams(7, funding_params(interestRate=0), sender=alice)


def test_setParams__unknown_market_reverts(standalone, owner):
    with ape.reverts(standalone.UnknownMarket, marketId=7):
        standalone.setParams(7, funding_params(), sender=owner)


def test_setSampler__non_router_reverts(fr, standalone, alice):
    with ape.reverts(standalone.OnlyRouter, caller=alice.address):
        standalone.setSampler(alice, sender=alice)
    with ape.reverts(fr.OnlyRouter, caller=alice.address):
        fr.setSampler(alice, sender=alice)


def test_setSampler__hands_the_role_over(fr, ex, owner, matcher, alice):
    assert fr.sampler() == matcher.address
    ex.router.setSampler(alice, sender=owner)
    assert fr.sampler() == alice.address
    fr.recordQuote(0, INDEX, INDEX + 2 * WAD, sender=alice)
    with ape.reverts(fr.OnlySampler, caller=matcher.address):
        fr.recordQuote(0, INDEX, INDEX + 4 * WAD, sender=matcher)
    assert fr.premiumState(0)[:2] == (1, WAD)


def test_syncOracle__rereads_the_markets_oracle(standalone, ex, owner, make_feed, make_oracle):
    standalone.registerMarket(7, ex.market, funding_params(), sender=owner)
    new_oracle = make_oracle(make_feed(8, 61_000 * 10**8), 86_400)
    ex.router.setOracle(0, new_oracle, sender=owner)  # the market's own FundingRate is synced by the router
    assert ex.funding.markPrice(0) == 61_000 * WAD
    assert standalone.markPrice(7) == INDEX  # cached at registration: still the old oracle
    standalone.syncOracle(7, sender=owner)
    assert standalone.markPrice(7) == 61_000 * WAD
    assert standalone.fundingIndex(7) == 0


def test_syncOracle__non_router_reverts(standalone, ex, owner, alice):
    standalone.registerMarket(7, ex.market, funding_params(), sender=owner)
    with ape.reverts(standalone.OnlyRouter, caller=alice.address):
        standalone.syncOracle(7, sender=alice)


def test_syncOracle__unknown_market_reverts(standalone, owner):
    with ape.reverts(standalone.UnknownMarket, marketId=7):
        standalone.syncOracle(7, sender=owner)
