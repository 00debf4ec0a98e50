"""The keeper against a deployed suite on Anvil: cranks, liquidations after a price shock, a lost
race, an RPC hiccup, a restart and a stale oracle."""

import pytest

from perpkit.config import load
from perpkit.deploy import DeploymentRecord, Deployer
from perpkit.errors import ErrorDecoder
from perpkit.keeper import Keeper, handles_from_record
from tests.conftest import WAD, Exchange


@pytest.fixture
def suite(project, chain, accounts, tmp_path):
    deployer = accounts[0]
    record = DeploymentRecord.open(tmp_path, chain.chain_id)
    Deployer(project, chain, deployer, load("markets.yaml"), record, "local", log=lambda _: None).run()
    data = record.data
    btc = data["markets"]["BTC-USD"]
    router = project.PerpRouter.at(data["router"])
    ex = Exchange(
        chain,
        router,
        project.FundingRate.at(data["fundingRate"]),
        project.PerpMarket.at(btc["address"]),
        btc["id"],
        project.MockERC20.at(data["tokens"]["USDC"]),
        project.MockV3Aggregator.at(btc["feed"]),
        project.ChainlinkOracle.at(btc["oracle"]),
        deployer,
        deployer,
    )
    return data, ex


def _deposit(ex, account, usdc):
    ex.token.approve(ex.router, usdc * 10**6, sender=account)
    ex.router.deposit(ex.market_id, usdc * 10**6, sender=account)


@pytest.fixture
def shocked(suite, alice, bob, carol, keeper, accounts):
    """alice and carol long 1 BTC at 9x, bob the market maker; then BTC falls 8 %."""
    data, ex = suite
    mm = accounts[7]
    for account, usdc in ((alice, 6_700), (carol, 6_700), (bob, 200_000), (mm, 200_000), (keeper, 500_000)):
        _deposit(ex, account, usdc)
    ex.trade(bob, alice, -WAD, 60_000 * WAD)
    ex.trade(mm, carol, -WAD, 60_000 * WAD)
    ex.set_price(55_200)
    return data, ex


def _keeper(project, chain, data, sender, logs):
    decoder = ErrorDecoder([e.model_dump() for e in ct.abi] for ct in project.contracts.values())
    handles = handles_from_record(project, data)
    funding = project.FundingRate.at(data["fundingRate"])
    return Keeper(chain, funding, handles, sender, log=logs.append, decoder=decoder, retry_delay=0.01)


def test_keeper__cranks_and_liquidates_after_a_shock(project, chain, shocked, alice, carol, keeper):
    data, ex = shocked
    logs = []
    k = _keeper(project, chain, data, keeper, logs)
    assert {h.name for h in k.markets} == {"BTC-USD", "ETH-USD"}
    k.tick()

    assert k.stats.cranks == 2  # both markets: never cranked before
    assert k.stats.liquidations == 2
    assert ex.market.positionOf(alice)[0] == 0 and ex.market.positionOf(carol)[0] == 0
    assert ex.market.positionOf(keeper)[0] == 2 * WAD
    assert len([line for line in logs if line.startswith("liquidate market=BTC-USD")]) == 2
    assert len([line for line in logs if line.startswith("liquidate-batch market=BTC-USD liquidated=2 skipped=0")]) == 1
    assert len([line for line in logs if line.startswith("crank ")]) == 2

    k.tick()  # nothing left to do, and the crank interval has not passed
    assert (k.stats.cranks, k.stats.liquidations) == (2, 2)


def test_keeper__stale_plan_skips_whom_another_keeper_liquidated_first(project, chain, shocked, alice, bob, carol,
                                                                        keeper):
    data, ex = shocked
    logs = []
    k = _keeper(project, chain, data, keeper, logs)
    btc = k.markets[0]
    plan = k.scan(btc)
    assert {liq.account for liq in plan} == {alice.address, carol.address}
    ex.market.liquidate(alice, WAD, sender=bob)  # another keeper (bob) is first for alice
    nonce = keeper.nonce
    k.scan = lambda market: plan  # the keeper acts on its stale view
    k._liquidate_unhealthy(btc)

    assert keeper.nonce == nonce + 1  # one batch: alice skipped in it, carol liquidated
    assert f"lost-race market=BTC-USD account={alice.address} reason=NoPosition" in logs
    assert any(line.startswith("liquidate-batch market=BTC-USD liquidated=1 skipped=1 ") for line in logs)
    assert k.stats.liquidations == 1 and k.stats.lost_races == 1
    assert ex.market.positionOf(carol)[0] == 0 and ex.market.positionOf(keeper)[0] == WAD


def test_keeper__two_keepers_racing_liquidate_each_account_once(project, chain, shocked, alice, carol, keeper,
                                                                 accounts):
    data, ex = shocked
    rival_account = accounts[8]
    _deposit_minted(ex, rival_account, 500_000)
    logs, rival_logs = [], []
    k, rival = _keeper(project, chain, data, keeper, logs), _keeper(project, chain, data, rival_account, rival_logs)
    plans = [k.scan(k.markets[0]), rival.scan(rival.markets[0])]  # both see alice and carol unhealthy
    assert [{liq.account for liq in plan} for plan in plans] == [{alice.address, carol.address}] * 2

    k._liquidate_unhealthy(k.markets[0], plans[0])
    nonce = rival_account.nonce
    rival._liquidate_unhealthy(rival.markets[0], plans[1])  # too late for both

    assert (k.stats.liquidations, k.stats.lost_races) == (2, 0)
    assert (rival.stats.liquidations, rival.stats.lost_races) == (0, 2)
    assert rival_account.nonce == nonce  # its eth_call liquidated nobody: nothing sent, no gas spent
    assert ex.market.positionOf(keeper)[0] == 2 * WAD and ex.market.positionOf(rival_account)[0] == 0
    assert any(line.startswith("skip liquidateBatch BTC-USD accounts=2 reason=all-skipped") for line in rival_logs)


def _deposit_minted(ex, account, usdc):
    ex.token.mint(account, usdc * 10**6, sender=account)
    _deposit(ex, account, usdc)


def test_keeper__survives_an_rpc_hiccup(project, chain, shocked, keeper):
    data, ex = shocked
    logs = []
    k = _keeper(project, chain, data, keeper, logs)
    btc = k.markets[0]
    real, failures = btc.market, []

    class Flaky:
        def __getattr__(self, name):
            return getattr(real, name)

        def candidatesOf(self, accounts):  # the scan's one batched view call
            if not failures:
                failures.append(1)
                raise ConnectionError("connection reset by peer")
            return real.candidatesOf(accounts)

    btc.market = Flaky()
    k.tick()
    assert k.stats.liquidations == 2
    assert any(line.startswith("rpc-retry attempt=1") for line in logs)


def test_keeper__restart_rederives_accounts_from_events(project, chain, shocked, alice, bob, carol, keeper, accounts):
    data, _ = shocked
    first = _keeper(project, chain, data, keeper, [])
    found = {liq.account for liq in first.scan(first.markets[0])}
    restarted = _keeper(project, chain, data, keeper, [])  # a new process: nothing in memory
    assert {liq.account for liq in restarted.scan(restarted.markets[0])} == found == {alice.address, carol.address}
    assert restarted.markets[0].tracker.accounts == {alice.address, bob.address, carol.address, keeper.address,
                                                    accounts[7].address}


def test_keeper__stale_oracle_skips_the_market_and_carries_on(project, chain, shocked, keeper):
    data, ex = shocked
    logs = []
    k = _keeper(project, chain, data, keeper, logs)
    chain.mine(1, deltatime=3601)  # the feeds were last updated more than a heartbeat ago
    k.tick()
    assert k.stats.skipped_stale == 2
    assert k.stats.liquidations == 0
    assert "skip market=BTC-USD reason=oracle-unavailable" in logs


def test_keeper__records_book_quotes_as_the_sampler(project, chain, suite, accounts):
    data, ex = suite
    sampler = accounts[0]  # the deployer is the sampler in markets.yaml's roles
    logs = []
    book = {0: (59_990 * WAD, 60_010 * WAD), 1: (None, None)}
    k = _keeper(project, chain, data, sampler, logs)
    k.quotes = lambda market_id: book[market_id]
    k.tick()
    assert ex.funding.premiumState(0)[2:4] == (59_990 * WAD, 60_010 * WAD)
    assert ex.funding.premiumState(1)[0] == 0  # a one-sided book is not quoted
    k.tick()  # unchanged: nothing sent
    assert len([line for line in logs if line.startswith("quote market=BTC-USD")]) == 1


def test_keeper__pyth_market__drives_mock_pyth_and_cranks(project, chain, accounts, tmp_path):
    """A market on `oracle: {type: pyth}`: the keeper's price path goes to the local MockPyth (8
    decimals, published now), the PythOracle reads it and the crank runs as on a Chainlink market."""
    from perpkit.config import OracleConfig

    config = load("markets.yaml")
    price_id = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"
    config.markets["BTC-USD"].oracle = OracleConfig("pyth", price_id, 60, 2 * WAD // 100)
    record = DeploymentRecord.open(tmp_path, chain.chain_id)
    Deployer(project, chain, accounts[0], config, record, "local", log=lambda _: None).run()
    data = record.data
    decoder = ErrorDecoder([e.model_dump() for e in ct.abi] for ct in project.contracts.values())
    handles = handles_from_record(project, data, local=True, price_paths={"BTC-USD": iter([61_234.5])})
    logs = []
    keeper = Keeper(chain, project.FundingRate.at(data["fundingRate"]), handles, accounts[0], log=logs.append,
                    decoder=decoder, retry_delay=0.01)

    keeper.tick()

    oracle = project.PythOracle.at(data["markets"]["BTC-USD"]["oracle"])
    assert oracle.price() == 61_234_5 * WAD // 10
    assert any(line.startswith("price market=BTC-USD price=61234.50") for line in logs), logs
    assert any(line.startswith("crank market=BTC-USD") for line in logs), logs
