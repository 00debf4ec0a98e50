"""The deploy end to end: in process on the test chain (record shape, on-chain state, no-op rerun,
resume after an interruption, --fresh), and `ape run deploy` as a subprocess (refused configs,
a live network played by an Anvil with Fraxtal testnet's chain id 2522).
"""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from perpkit.config import FUNDING_ORDER, PARAM_ORDER, WAD, load
from perpkit.deploy import Deployer, DeploymentRecord
from tests.e2e._anvil import APE, ROOT, Chain, anvil, dev_address, run

MARKETS_YAML = ROOT / "markets.yaml"
FRAXTAL_TESTNET = 2522
TOKENS = {"USDC": ("USD Coin", 6), "FRAX": ("Frax", 18)}
MARKET_FIELDS = ["initialMarginRatio", "maintenanceMarginRatio", "liquidationFee", "liquidatorShare", "makerFee",
                 "takerFee", "priceBand", "maxOpenInterest", "minPositionSize"]  # MarketParams, in PARAM_ORDER
MINT_STEP = "mint 1,000,000 of each token to 10 test accounts"


# ------------------------------------------------------------------ in process, on the test chain


@pytest.fixture
def config():
    return load(MARKETS_YAML)


@pytest.fixture
def deploy(project, chain, accounts, config, tmp_path):
    """Run a deploy from the record in tmp_path, as `ape run deploy` would on this chain."""

    def run_deploy(fresh=False):
        record = DeploymentRecord.open(tmp_path, chain.chain_id, fresh=fresh)
        deployer = Deployer(project, chain, accounts[0], config, record, "local", log=lambda *_: None)
        deployer.run()
        return deployer

    return run_deploy


def _read(tmp_path):
    return json.loads((tmp_path / "31337.json").read_text())


def _broadcast(deployer):
    return [step.name for step in deployer.steps if step.gas_used is not None]


def test_run__local_chain__writes_the_record_in_the_design_shape(deploy, accounts, tmp_path):
    deploy()
    data = _read(tmp_path)
    deployer = accounts[0].address

    assert {"chainId", "block", "router", "fundingRate", "tokens", "markets", "roles"} <= set(data)
    assert data["chainId"] == 31337
    assert isinstance(data["block"], int)
    assert set(data["tokens"]) == {"USDC", "FRAX"}
    assert {name: sorted(entry) for name, entry in data["markets"].items()} == {
        "BTC-USD": ["address", "collateral", "feed", "id", "oracle"],
        "ETH-USD": ["address", "collateral", "feed", "id", "oracle"],
    }
    assert [(m["id"], m["collateral"]) for m in data["markets"].values()] == [(0, "USDC"), (1, "FRAX")]
    assert data["roles"] == {"owner": deployer, "matcher": deployer, "sampler": deployer, "guardian": deployer}


def test_run__local_chain__on_chain_state_matches_the_config(deploy, project, accounts, config, tmp_path):
    deploy()
    data = _read(tmp_path)
    router = project.PerpRouter.at(data["router"])
    funding = project.FundingRate.at(data["fundingRate"])
    deployer = accounts[0].address

    assert router.marketCount() == 2
    assert router.fundingRate() == data["fundingRate"]
    assert (router.owner(), router.matcher(), router.guardian(), funding.sampler()) == (deployer,) * 4
    for name, entry in data["markets"].items():
        wanted = config.markets[name]
        market = project.PerpMarket.at(entry["address"])
        oracle = project.ChainlinkOracle.at(entry["oracle"])
        assert router.markets(entry["id"]) == entry["address"]
        params = market.params()
        assert [getattr(params, field) for field in MARKET_FIELDS] == [wanted.params[k] for k in PARAM_ORDER]
        fp = funding.paramsOf(entry["id"])
        assert (fp.interestRate, fp.premiumClamp, fp.rateCap) == tuple(wanted.funding[k] for k in FUNDING_ORDER)
        assert market.collateral() == data["tokens"][wanted.collateral]
        assert market.oracle() == entry["oracle"]
        assert (oracle.feed(), oracle.heartbeat()) == (entry["feed"], wanted.heartbeat)
        assert oracle.price() == int(wanted.local_price) * WAD


def test_run__local_chain__mock_tokens_fund_the_test_accounts(deploy, project, accounts, tmp_path):
    deploy()
    data = _read(tmp_path)
    for symbol, (name, decimals) in TOKENS.items():
        token = project.MockERC20.at(data["tokens"][symbol])
        assert (token.name(), token.symbol(), token.decimals()) == (name, symbol, decimals)
        assert [token.balanceOf(a) for a in accounts[:10]] == [1_000_000 * 10**decimals] * 10


def test_run__second_time__is_a_no_op(deploy, accounts, tmp_path):
    deploy()
    before, nonce = _read(tmp_path), accounts[0].nonce

    again = deploy()

    assert accounts[0].nonce == nonce
    assert _broadcast(again) == []
    assert _read(tmp_path) == before


def test_run__interrupted_at_the_second_market__resumes_with_only_what_is_missing(
    deploy, accounts, tmp_path, monkeypatch
):
    real_market = Deployer._market

    class RouterThatFails:
        def __init__(self, router):
            self._router = router

        def __getattr__(self, name):
            return getattr(self._router, name)

        def createMarket(self, *args, **kwargs):
            raise ConnectionError("RPC went away")

    def market_step(self, router, market, token, feed):
        return real_market(self, RouterThatFails(router) if market.name == "ETH-USD" else router, market, token, feed)

    monkeypatch.setattr(Deployer, "_market", market_step)
    with pytest.raises(ConnectionError, match="RPC went away"):
        deploy()
    monkeypatch.setattr(Deployer, "_market", real_market)
    interrupted, nonce = _read(tmp_path), accounts[0].nonce
    assert "address" not in interrupted["markets"]["ETH-USD"]
    assert "funded" not in interrupted

    resumed = deploy()

    data = _read(tmp_path)
    assert _broadcast(resumed) == ["market ETH-USD (id 1)", MINT_STEP]
    assert accounts[0].nonce == nonce + 1 + 2 * 10  # createMarket, then 10 mints per token
    for key in ("factory", "router", "fundingRate", "tokens"):
        assert data[key] == interrupted[key]
    assert data["markets"]["BTC-USD"] == interrupted["markets"]["BTC-USD"]
    assert {k: data["markets"]["ETH-USD"][k] for k in ("oracle", "feed")} == {
        k: interrupted["markets"]["ETH-USD"][k] for k in ("oracle", "feed")
    }
    assert data["markets"]["ETH-USD"]["id"] == 1


def test_run__fresh__redeploys_everything(deploy, project, accounts, tmp_path):
    first = deploy()
    old = _read(tmp_path)

    fresh = deploy(fresh=True)

    new = _read(tmp_path)
    assert len(_broadcast(fresh)) == len(_broadcast(first)) == 14
    assert {k: new[k] != old[k] for k in ("factory", "router", "fundingRate")} == {
        "factory": True, "router": True, "fundingRate": True
    }
    assert set(new["tokens"].values()).isdisjoint(old["tokens"].values())
    for name in ("BTC-USD", "ETH-USD"):
        assert {k: new["markets"][name][k] != old["markets"][name][k] for k in ("address", "oracle", "feed")} == {
            "address": True, "oracle": True, "feed": True
        }
    assert project.PerpRouter.at(new["router"]).marketCount() == 2


# ------------------------------------------------------------------ `ape run deploy`: refused configs


def _config_with(tmp_path, edit, name="markets.yaml") -> Path:
    raw = yaml.safe_load(MARKETS_YAML.read_text())
    edit(raw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def _set(*keys, value):
    def edit(raw):
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


REFUSED = {
    "unknown-collateral": (_set("markets", "BTC-USD", "collateral", value="USDT"),
                           "Error: market BTC-USD: unknown collateral token USDT"),
    "outside-envelope": (_set("markets", "BTC-USD", "params", "price_band", value=0.09),
                         "Error: market BTC-USD: outside the safety envelope: initial_margin_ratio 0.1 must exceed "
                         "rate_cap + liquidation_fee + price_band = 0.11"),
    "outside-hard-bounds": (_set("markets", "ETH-USD", "params", "maker_fee", value=0.02),
                            "Error: market ETH-USD: maker_fee = 0.02 outside [0, 0.01]"),
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """`ape run deploy` on the local chain with each refused config, run at once; yields
    {case: (result, deployments folder)}."""

    def attempt(case):
        folder = tmp_path_factory.mktemp(case)
        config = _config_with(folder, REFUSED[case][0])
        deployments = folder / "deployments"
        return run([APE, "run", "deploy", "--config", config, "--deployments", deployments]), deployments

    with ThreadPoolExecutor(len(REFUSED)) as pool:
        return dict(zip(REFUSED, pool.map(attempt, REFUSED)))


@pytest.mark.parametrize("case", list(REFUSED))
def test_ape_run_deploy__refused_local_config__one_line_and_no_record(refused, case):
    result, deployments = refused[case]
    assert (result.returncode, result.stderr.splitlines()) == (1, [REFUSED[case][1]])
    assert not deployments.exists()


# ------------------------------------------------------------------ a live network: Anvil as Fraxtal testnet


@pytest.fixture(scope="module")
def fraxtal():
    """An Anvil with chain id 2522, holding a mock token and feed per market, as a live network
    holds real ones; yields (url, chain, tokens, feeds)."""
    with anvil(chain_id=FRAXTAL_TESTNET) as url:
        chain = Chain(url)
        tokens = {s: chain.deploy("MockERC20", n, s, d) for s, (n, d) in TOKENS.items()}
        feeds = {"BTC-USD": chain.deploy("MockV3Aggregator", 8, 60_000 * 10**8),
                 "ETH-USD": chain.deploy("MockV3Aggregator", 8, 3_000 * 10**8)}
        yield url, chain, tokens, feeds


def _live(url, tmp_path, config, *extra):
    return run(
        [APE, "run", "deploy", "--network", "fraxtal:testnet:node", "--account", "TEST::0", "--yes",
         "--config", config, "--deployments", tmp_path / "deployments", *extra],
        env={"FRAXTAL_TESTNET_RPC_URL": url, "APE_DATA_FOLDER": str(tmp_path / "ape-data")},
    )


def test_ape_run_deploy__live_network_with_a_zero_address_feed__one_line_and_nothing_broadcast(fraxtal, tmp_path):
    url, chain, tokens, feeds = fraxtal
    config = _config_with(tmp_path, _set("networks", "fraxtal-testnet", value={
        "tokens": tokens, "feeds": {**feeds, "ETH-USD": "0x" + "00" * 20}}))
    nonce = chain.nonce(dev_address(0))

    result = _live(url, tmp_path, config)

    assert (result.returncode, result.stderr.splitlines()) == (
        1, ["Error: market ETH-USD: feed for fraxtal-testnet is the zero address"])
    assert chain.nonce(dev_address(0)) == nonce
    assert not (tmp_path / "deployments").exists()


def test_ape_run_deploy__live_network__uses_the_configured_feeds_and_tokens_and_deploys_no_mock(fraxtal, tmp_path):
    url, chain, tokens, feeds = fraxtal
    config = _config_with(tmp_path, _set("networks", "fraxtal-testnet", value={"tokens": tokens, "feeds": feeds}))
    deployer = dev_address(0)  # TEST::0 is Anvil's first account
    nonce = chain.nonce(deployer)

    result = _live(url, tmp_path, config)

    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "deployments" / "2522.json").read_text())
    assert data["chainId"] == FRAXTAL_TESTNET
    assert data["tokens"] == tokens
    assert {name: (m["feed"], m["collateral"], m["id"]) for name, m in data["markets"].items()} == {
        "BTC-USD": (feeds["BTC-USD"], "USDC", 0), "ETH-USD": (feeds["ETH-USD"], "FRAX", 1)}
    assert "funded" not in data
    # factory, router, 3 roles, then an oracle and createMarket per market: no mock, no mint
    assert chain.nonce(deployer) == nonce + 2 + 3 + 2 * 2
    router = chain.contract("PerpRouter", data["router"])
    assert router.functions.markets(0).call() == data["markets"]["BTC-USD"]["address"]
    assert len(chain.code(router.functions.markets(0).call())) > 0
    assert router.functions.owner().call() == deployer
    assert chain.contract("PerpMarket", data["markets"]["ETH-USD"]["address"]).functions.collateral().call() == tokens["FRAX"]

    again = _live(url, tmp_path, config)

    assert again.returncode == 0, again.stderr
    assert chain.nonce(deployer) == nonce + 9
