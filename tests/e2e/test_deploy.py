"""The deploy end to end: in process on the test chain (record shape, on-chain state, collateral
registration, no-op rerun, changed collateral parameters, a token added later, resume after an
interruption, --fresh), the config's collateral validation, and `ape run deploy` as a subprocess
(refused configs, a live network played by an Anvil with Fraxtal testnet's chain id 2522).
"""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from perpkit.config import FUNDING_ORDER, PARAM_ORDER, WAD, ConfigError, OracleConfig, live_addresses, load
from perpkit.deploy import Deployer, DeploymentRecord
from tests.e2e._anvil import APE, ROOT, Chain, anvil, dev_address, run

MARKETS_YAML = ROOT / "markets.yaml"
PYTH_BTC = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"  # Pyth's BTC/USD price id
FRAXTAL_TESTNET = 2522
TOKENS = {"USDC": ("USD Coin", 6), "FRAX": ("Frax", 18), "WETH": ("Wrapped Ether", 18), "WBTC": ("Wrapped BTC", 8)}
FUNDED = {"USDC": 1_000_000, "FRAX": 1_000_000, "WETH": 1_000, "WBTC": 100}  # whole tokens per test account
MARKET_FIELDS = ["initialMarginRatio", "maintenanceMarginRatio", "liquidationFee", "liquidatorShare", "makerFee",
                 "takerFee", "priceBand", "warmupPeriod", "maxOpenInterest", "minPositionSize"]  # MarketParams, in PARAM_ORDER
MINT_STEP = "mint 1,000,000 USDC, 1,000,000 FRAX, 1,000 WETH, 100 WBTC to 10 test accounts"
# markets.yaml's collaterals: market -> token -> (weight, liquidation discount, cap in token units, heartbeat, USD)
COLLATERALS = {
    "BTC-USD": {"WETH": (80 * WAD // 100, 5 * WAD // 100, 10_000 * 10**18, 3600, 3_000),
                "FRAX": (98 * WAD // 100, 2 * WAD // 100, 50_000_000 * 10**18, 86_400, 1)},
    "ETH-USD": {"WBTC": (85 * WAD // 100, 5 * WAD // 100, 500 * 10**8, 3600, 60_000)},
}
COLLATERAL_STEPS = {  # the step that registers each one
    ("BTC-USD", "WETH"): "collateral WETH for BTC-USD (weight 0.8, discount 0.05, cap 10,000 WETH)",
    ("BTC-USD", "FRAX"): "collateral FRAX for BTC-USD (weight 0.98, discount 0.02, cap 50,000,000 FRAX)",
    ("ETH-USD", "WBTC"): "collateral WBTC for ETH-USD (weight 0.85, discount 0.05, cap 500 WBTC)",
}


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


def test_run__local_chain__writes_the_record_in_the_design_shape(deploy, project, accounts, tmp_path):
    deploy()
    data = _read(tmp_path)
    deployer = accounts[0].address

    assert {"chainId", "block", "router", "gateway", "fundingRate", "tokens", "markets", "roles"} <= set(data)
    assert project.PerpGateway.at(data["gateway"]).router() == data["router"]
    assert data["chainId"] == 31337
    assert isinstance(data["block"], int)
    assert list(data["tokens"]) == ["USDC", "FRAX", "WETH", "WBTC"]
    fields = ["address", "collateral", "collateralPool", "collaterals", "feed", "id", "oracle"]
    assert {name: sorted(entry) for name, entry in data["markets"].items()} == {"BTC-USD": fields, "ETH-USD": fields}
    assert [(m["id"], m["collateral"]) for m in data["markets"].values()] == [(0, "USDC"), (1, "FRAX")]
    assert {name: {t: sorted(c) for t, c in m["collaterals"].items()} for name, m in data["markets"].items()} == {
        "BTC-USD": {"WETH": ["feed", "oracle"], "FRAX": ["feed", "oracle"]},
        "ETH-USD": {"WBTC": ["feed", "oracle"]},
    }
    assert data["roles"] == {"owner": deployer, "matcher": deployer, "sampler": deployer, "guardian": deployer}
    assert data["funded"] == data["tokens"]


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


def test_run__local_chain__registers_each_collateral_in_the_market_pool(deploy, project, tmp_path):
    deploy()
    data = _read(tmp_path)
    router = project.PerpRouter.at(data["router"])
    for name, entry in data["markets"].items():
        pool = project.CollateralPool.at(entry["collateralPool"])
        assert router.collateralPoolOf(entry["id"]) == project.PerpMarket.at(entry["address"]).collateralPool() == pool
        assert (pool.market(), pool.marketId()) == (entry["address"], entry["id"])
        assert pool.collateralTokens() == [data["tokens"][t] for t in COLLATERALS[name]]
        for symbol, (weight, discount, cap, heartbeat, usd) in COLLATERALS[name].items():
            recorded = entry["collaterals"][symbol]
            oracle, params, scale, total = pool.collateralOf(data["tokens"][symbol])
            assert (oracle, tuple(params), scale, total) == (
                recorded["oracle"], (weight, discount, cap), 10 ** (18 - TOKENS[symbol][1]), 0)
            chainlink = project.ChainlinkOracle.at(oracle)
            assert (chainlink.feed(), chainlink.heartbeat(), chainlink.price()) == (recorded["feed"], heartbeat, usd * WAD)
            assert project.MockV3Aggregator.at(recorded["feed"]).latestRoundData()[1] == usd * 10**8


def test_run__local_chain__mock_tokens_fund_the_test_accounts(deploy, project, accounts, tmp_path):
    deploy()
    data = _read(tmp_path)
    for symbol, (name, decimals) in TOKENS.items():
        token = project.MockERC20.at(data["tokens"][symbol])
        assert (token.name(), token.symbol(), token.decimals()) == (name, symbol, decimals)
        assert [token.balanceOf(a) for a in accounts[:10]] == [FUNDED[symbol] * 10**decimals] * 10


def test_run__second_time__is_a_no_op(deploy, accounts, tmp_path):
    deploy()
    before, nonce = _read(tmp_path), accounts[0].nonce

    again = deploy()

    assert accounts[0].nonce == nonce
    assert _broadcast(again) == []
    assert _read(tmp_path) == before


def test_run__pyth_market__deploys_a_mock_pyth_and_a_pyth_oracle_the_market_reads(deploy, project, config, tmp_path):
    """markets.yaml's `oracle: {type: pyth, ...}`: locally one MockPyth (recorded as "pyth") with
    the market's local price published, a PythOracle over it, and a second run changes nothing."""
    config.markets["BTC-USD"].oracle = OracleConfig("pyth", PYTH_BTC, 60, 2 * WAD // 100)

    first = deploy()

    data = _read(tmp_path)
    btc, eth = data["markets"]["BTC-USD"], data["markets"]["ETH-USD"]
    assert (btc["oracleType"], btc["pyth"], btc["priceId"], "feed" in btc) == ("pyth", data["pyth"], PYTH_BTC, False)
    assert "oracleType" not in eth and "feed" in eth
    oracle = project.PythOracle.at(btc["oracle"])
    assert (oracle.pyth(), "0x" + oracle.priceId().hex().removeprefix("0x"), oracle.maxAge(), oracle.maxConfidence()) == (
        data["pyth"], PYTH_BTC, 60, 2 * WAD // 100)
    assert project.PerpMarket.at(btc["address"]).oracle() == btc["oracle"]
    assert oracle.price() == 60_000 * WAD
    assert {"mock pyth", "mock pyth price BTC-USD", "oracle BTC-USD (pyth)"} <= set(_broadcast(first))
    assert _broadcast(deploy()) == []


PYTH_REFUSED = {
    "unknown-type": ("band", "market BTC-USD: oracle: unknown type 'band' (known: chainlink, pyth)"),
    "short-price-id": ({"type": "pyth", "price_id": "0x1234"},
                       "market BTC-USD: oracle: price_id '0x1234' is not 0x and 64 hex digits"),
    "max-age-zero": ({"type": "pyth", "price_id": PYTH_BTC, "max_age": 0},
                     "market BTC-USD: oracle: max_age 0 s outside (0, 86400]"),
    "confidence-too-wide": ({"type": "pyth", "price_id": PYTH_BTC, "max_confidence": 0.2},
                            "market BTC-USD: oracle: max_confidence = 0.2 outside (0, 0.1]"),
    "misspelt-key": ({"type": "pyth", "price_id": PYTH_BTC, "maxage": 60},
                     "market BTC-USD: oracle: unknown key maxage (keys: max_age, max_confidence, price_id, type)"),
}


@pytest.mark.parametrize("case", list(PYTH_REFUSED))
def test_load__refused_oracle__one_line_naming_market_and_value(tmp_path, case):
    value, message = PYTH_REFUSED[case]
    with pytest.raises(ConfigError) as refused:
        load(_config_with(tmp_path, _set("markets", "BTC-USD", "oracle", value=value)))
    assert str(refused.value) == message


def test_live_addresses__pyth_market_without_the_networks_pyth_contract__refused(tmp_path):
    config = load(_config_with(tmp_path, _set("markets", "BTC-USD", "oracle", value={"type": "pyth", "price_id": PYTH_BTC})))
    with pytest.raises(ConfigError) as refused:
        live_addresses(config, "sepolia")
    assert str(refused.value) == "market BTC-USD: a pyth market needs networks.sepolia.pyth, the Pyth contract"


def test_run__collateral_parameters_changed__sets_only_those_again(deploy, project, accounts, config, tmp_path):
    deploy()
    before, nonce = _read(tmp_path), accounts[0].nonce
    weth, wbtc = config.markets["BTC-USD"].collaterals[0], config.markets["ETH-USD"].collaterals[0]
    weth.weight = 75 * WAD // 100  # a new weight: set again, same oracle
    wbtc.heartbeat = 7200  # a new heartbeat: a new oracle, then set again

    again = deploy()

    data = _read(tmp_path)
    assert _broadcast(again) == [
        "collateral WETH for BTC-USD (weight 0.75, discount 0.05, cap 10,000 WETH)",
        "oracle WBTC for ETH-USD",
        COLLATERAL_STEPS[("ETH-USD", "WBTC")],
    ]
    assert accounts[0].nonce == nonce + 3
    btc_pool = project.CollateralPool.at(data["markets"]["BTC-USD"]["collateralPool"])
    eth_pool = project.CollateralPool.at(data["markets"]["ETH-USD"]["collateralPool"])
    assert tuple(btc_pool.collateralOf(data["tokens"]["WETH"])[1]) == (75 * WAD // 100, 5 * WAD // 100, 10_000 * WAD)
    new_oracle = data["markets"]["ETH-USD"]["collaterals"]["WBTC"]["oracle"]
    assert new_oracle != before["markets"]["ETH-USD"]["collaterals"]["WBTC"]["oracle"]
    assert eth_pool.collateralOf(data["tokens"]["WBTC"])[0] == new_oracle
    assert project.ChainlinkOracle.at(new_oracle).heartbeat() == 7200
    assert data["markets"]["BTC-USD"]["collateralPool"] == before["markets"]["BTC-USD"]["collateralPool"]


def test_run__token_added_to_the_config__deploys_and_funds_only_that_token(deploy, project, accounts, config, tmp_path):
    deploy()
    nonce = accounts[0].nonce
    config.tokens["DAI"] = {"name": "Dai", "decimals": 18}

    again = deploy()

    data = _read(tmp_path)
    assert _broadcast(again) == ["mock DAI", "mint 1,000,000 DAI to 10 test accounts"]
    assert accounts[0].nonce == nonce + 1 + 10
    dai = project.MockERC20.at(data["tokens"]["DAI"])
    assert [dai.balanceOf(a) for a in accounts[:10]] == [1_000_000 * WAD] * 10
    assert data["funded"] == data["tokens"]


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
    assert _broadcast(resumed) == ["market ETH-USD (id 1)", "oracle WBTC for ETH-USD", COLLATERAL_STEPS[("ETH-USD", "WBTC")],
                                   MINT_STEP]
    assert accounts[0].nonce == nonce + 3 + 4 * 10  # createMarket, WBTC oracle, setCollateral, 10 mints per token
    for key in ("factory", "router", "fundingRate", "tokens"):
        assert data[key] == interrupted[key]
    assert data["markets"]["BTC-USD"] == interrupted["markets"]["BTC-USD"]
    assert {k: data["markets"]["ETH-USD"][k] for k in ("oracle", "feed")} == {
        k: interrupted["markets"]["ETH-USD"][k] for k in ("oracle", "feed")
    }
    assert data["markets"]["ETH-USD"]["collaterals"]["WBTC"]["feed"] == (
        interrupted["markets"]["ETH-USD"]["collaterals"]["WBTC"]["feed"])  # the mocks came first
    assert data["markets"]["ETH-USD"]["id"] == 1


def test_run__fresh__redeploys_everything(deploy, project, accounts, tmp_path):
    first = deploy()
    old = _read(tmp_path)

    fresh = deploy(fresh=True)

    new = _read(tmp_path)
    # 4 tokens, 5 feeds, factory, router, gateway, 3 roles, 2 x (oracle, market), 3 x (oracle, setCollateral), the mint
    assert len(_broadcast(fresh)) == len(_broadcast(first)) == 26
    assert {k: new[k] != old[k] for k in ("factory", "router", "fundingRate", "gateway")} == {
        "factory": True, "router": True, "fundingRate": True, "gateway": True
    }
    assert set(new["tokens"].values()).isdisjoint(old["tokens"].values())
    for name in ("BTC-USD", "ETH-USD"):
        assert {k: new["markets"][name][k] != old["markets"][name][k] for k in ("address", "oracle", "feed",
                                                                               "collateralPool")} == {
            "address": True, "oracle": True, "feed": True, "collateralPool": True
        }
    assert project.PerpRouter.at(new["router"]).marketCount() == 2


# ------------------------------------------------------------------ the config's collateral list


def _collateral(market, index, key, value):
    return lambda raw: raw["markets"][market]["collaterals"][index].__setitem__(key, value)


REFUSED_COLLATERALS = {
    "unknown-token": (_collateral("BTC-USD", 0, "token", "STETH"),
                      "market BTC-USD: collateral STETH: unknown token STETH (tokens: FRAX, USDC, WBTC, WETH)"),
    "settlement-token": (_collateral("ETH-USD", 0, "token", "FRAX"),
                         "market ETH-USD: collateral FRAX is the market's settlement token"),
    "discount-low": (_collateral("BTC-USD", 0, "liquidation_discount", 0.005),
                     "market BTC-USD: collateral WETH: liquidation_discount = 0.005 outside [0.01, 0.2]"),
    "discount-high": (_collateral("BTC-USD", 0, "liquidation_discount", 0.25),
                      "market BTC-USD: collateral WETH: liquidation_discount = 0.25 outside [0.01, 0.2]"),
    "weight-above-one-minus-discount": (
        _collateral("BTC-USD", 0, "weight", 0.96),
        "market BTC-USD: collateral WETH: weight = 0.96 outside [0, 0.95] (at most min(0.99, 1 - liquidation_discount))"),
    "weight-above-0.99": (
        lambda raw: raw["markets"]["BTC-USD"]["collaterals"][1].update(weight=0.995, liquidation_discount=0.01),
        "market BTC-USD: collateral FRAX: weight = 0.995 outside [0, 0.99] (at most min(0.99, 1 - liquidation_discount))"),
    "negative-weight": (_collateral("BTC-USD", 0, "weight", -0.1),
                        "market BTC-USD: collateral WETH: weight = -0.1 outside [0, 0.95] "
                        "(at most min(0.99, 1 - liquidation_discount))"),
    "cap-zero": (_collateral("BTC-USD", 0, "cap", 0), "market BTC-USD: collateral WETH: cap = 0 must be positive (whole tokens)"),
    "cap-finer-than-the-token": (_collateral("ETH-USD", 0, "cap", 0.000000001),
                                 "market ETH-USD: collateral WBTC: cap 0.000000001 has more than 8 decimals"),
    "cap-not-a-number": (_collateral("BTC-USD", 0, "cap", "lots"), "market BTC-USD: collateral WETH: cap = 'lots' is not a number"),
    "heartbeat-zero": (_collateral("BTC-USD", 1, "heartbeat", 0),
                       "market BTC-USD: collateral FRAX: heartbeat 0 s outside (0, 172800]"),
    "missing-weight": (lambda raw: raw["markets"]["BTC-USD"]["collaterals"][0].pop("weight"),
                       "market BTC-USD: collateral WETH: missing weight"),
    "misspelt-key": (lambda raw: raw["markets"]["BTC-USD"]["collaterals"][0].update(wieght=0.5),
                     "market BTC-USD: collateral WETH: unknown key wieght (keys: cap, heartbeat, liquidation_discount, "
                     "local_price, token, weight)"),
    "listed-twice": (lambda raw: raw["markets"]["BTC-USD"]["collaterals"].append(
                         dict(raw["markets"]["BTC-USD"]["collaterals"][0])),
                     "market BTC-USD: collateral WETH listed twice"),
    "not-a-list": (lambda raw: raw["markets"]["BTC-USD"].__setitem__("collaterals", {"token": "WETH"}),
                   "market BTC-USD: collaterals must be a list of {token, weight, liquidation_discount, cap, heartbeat, "
                   "local_price}"),
}


@pytest.mark.parametrize("case", list(REFUSED_COLLATERALS))
def test_load__refused_collateral__one_line_naming_market_token_and_bound(tmp_path, case):
    edit, message = REFUSED_COLLATERALS[case]
    with pytest.raises(ConfigError) as refused:
        load(_config_with(tmp_path, edit))
    assert str(refused.value) == message


def test_load__collaterals__parsed_in_wad_and_token_units(config):
    weth, frax = config.markets["BTC-USD"].collaterals
    [wbtc] = config.markets["ETH-USD"].collaterals
    for c, market in ((weth, "BTC-USD"), (frax, "BTC-USD"), (wbtc, "ETH-USD")):
        weight, discount, cap, heartbeat, usd = COLLATERALS[market][c.token]
        assert (c.params_tuple(config.decimals(c.token)), c.heartbeat, c.local_price) == (
            (weight, discount, cap), heartbeat, usd)
    assert config.local_funding["amounts"] == {"WETH": 1_000, "WBTC": 100}


def test_load__weight_zero_and_bounds_inclusive__accepted(tmp_path):
    def edge(raw):
        weth, frax = raw["markets"]["BTC-USD"]["collaterals"]
        weth.update(weight=0, liquidation_discount=0.2)  # a delisted token: counts nothing
        frax.update(weight=0.99, liquidation_discount=0.01, cap=0.000000000000000001)  # one token unit

    config = load(_config_with(tmp_path, edit=edge))
    weth, frax = config.markets["BTC-USD"].collaterals
    assert weth.params_tuple(18) == (0, WAD // 5, 10_000 * WAD)
    assert frax.params_tuple(18) == (99 * WAD // 100, WAD // 100, 1)


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
    "unknown-oracle-type": (_set("markets", "BTC-USD", "oracle", value="band"),
                            "Error: market BTC-USD: oracle: unknown type 'band' (known: chainlink, pyth)"),
    "collateral-weight": (_collateral("BTC-USD", 0, "weight", 0.96),
                          "Error: market BTC-USD: collateral WETH: weight = 0.96 outside [0, 0.95] "
                          "(at most min(0.99, 1 - liquidation_discount))"),
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
    """An Anvil with chain id 2522, holding a mock token and feed per market and per collateral,
    as a live network holds real ones; yields (url, chain, tokens, feeds, collateral feeds)."""
    with anvil(chain_id=FRAXTAL_TESTNET) as url:
        chain = Chain(url)
        tokens = {s: chain.deploy("MockERC20", n, s, d) for s, (n, d) in TOKENS.items()}
        feeds = {"BTC-USD": chain.deploy("MockV3Aggregator", 8, 60_000 * 10**8),
                 "ETH-USD": chain.deploy("MockV3Aggregator", 8, 3_000 * 10**8)}
        collateral_feeds = {"WETH": chain.deploy("MockV3Aggregator", 8, 3_000 * 10**8),
                            "FRAX": chain.deploy("MockV3Aggregator", 8, 10**8),
                            "WBTC": chain.deploy("MockV3Aggregator", 8, 60_000 * 10**8)}
        yield url, chain, tokens, feeds, collateral_feeds


def _live(url, tmp_path, config, *extra):
    return run(
        [APE, "run", "deploy", "--network", "fraxtal:testnet:node", "--account", "TEST::0", "--yes",
         "--config", config, "--deployments", tmp_path / "deployments", *extra],
        env={"FRAXTAL_TESTNET_RPC_URL": url, "APE_DATA_FOLDER": str(tmp_path / "ape-data")},
    )


LIVE_REFUSED = {
    "zero-address-feed": (lambda tokens, feeds, cfeeds: {"tokens": tokens, "feeds": {**feeds, "ETH-USD": "0x" + "00" * 20},
                                                          "collateral_feeds": cfeeds},
                          "Error: market ETH-USD: feed for fraxtal-testnet is the zero address"),
    "no-collateral-feed": (lambda tokens, feeds, cfeeds: {"tokens": tokens, "feeds": feeds,
                                                           "collateral_feeds": {**cfeeds, "FRAX": None}},
                           "Error: market BTC-USD: no collateral feed for FRAX configured for network fraxtal-testnet"),
    "no-collateral-token": (lambda tokens, feeds, cfeeds: {"tokens": {**tokens, "WBTC": None}, "feeds": feeds,
                                                            "collateral_feeds": cfeeds},
                            "Error: market ETH-USD: no WBTC token address configured for network fraxtal-testnet"),
}


@pytest.fixture(scope="module")
def live_refused(fraxtal, tmp_path_factory):
    """`ape run deploy` to the live network with each config missing an address, run at once;
    yields {case: (result, folder)} and the deployer's nonce before and after."""
    url, chain, tokens, feeds, collateral_feeds = fraxtal
    nonce = chain.nonce(dev_address(0))

    def attempt(case):
        folder = tmp_path_factory.mktemp(case)
        network = LIVE_REFUSED[case][0](tokens, feeds, collateral_feeds)
        config = _config_with(folder, _set("networks", "fraxtal-testnet", value=network))
        return _live(url, folder, config), folder

    with ThreadPoolExecutor(len(LIVE_REFUSED)) as pool:
        results = dict(zip(LIVE_REFUSED, pool.map(attempt, LIVE_REFUSED)))
    return results, nonce, chain.nonce(dev_address(0))


@pytest.mark.parametrize("case", list(LIVE_REFUSED))
def test_ape_run_deploy__live_network_missing_an_address__one_line_and_nothing_broadcast(live_refused, case):
    results, nonce_before, nonce_after = live_refused
    result, folder = results[case]
    assert (result.returncode, result.stderr.splitlines()) == (1, [LIVE_REFUSED[case][1]])
    assert nonce_after == nonce_before
    assert not (folder / "deployments").exists()


def test_ape_run_deploy__live_network__uses_the_configured_feeds_and_tokens_and_deploys_no_mock(fraxtal, tmp_path):
    url, chain, tokens, feeds, collateral_feeds = fraxtal
    config = _config_with(tmp_path, _set("networks", "fraxtal-testnet", value={
        "tokens": tokens, "feeds": feeds, "collateral_feeds": collateral_feeds}))
    deployer = dev_address(0)  # TEST::0 is Anvil's first account
    nonce = chain.nonce(deployer)

    result = _live(url, tmp_path, config)

    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "deployments" / "2522.json").read_text())
    assert data["chainId"] == FRAXTAL_TESTNET
    assert data["tokens"] == tokens
    assert {name: (m["feed"], m["collateral"], m["id"]) for name, m in data["markets"].items()} == {
        "BTC-USD": (feeds["BTC-USD"], "USDC", 0), "ETH-USD": (feeds["ETH-USD"], "FRAX", 1)}
    assert {name: {t: c["feed"] for t, c in m["collaterals"].items()} for name, m in data["markets"].items()} == {
        "BTC-USD": {"WETH": collateral_feeds["WETH"], "FRAX": collateral_feeds["FRAX"]},
        "ETH-USD": {"WBTC": collateral_feeds["WBTC"]}}
    assert "funded" not in data
    # factory, router, gateway, 3 roles, an oracle and createMarket per market, an oracle and
    # setCollateral per collateral: no mock, no mint
    assert chain.nonce(deployer) == nonce + 3 + 3 + 2 * 2 + 3 * 2
    assert chain.contract("PerpGateway", data["gateway"]).functions.router().call() == data["router"]
    router = chain.contract("PerpRouter", data["router"])
    assert router.functions.markets(0).call() == data["markets"]["BTC-USD"]["address"]
    assert len(chain.code(router.functions.markets(0).call())) > 0
    assert router.functions.owner().call() == deployer
    assert chain.contract("PerpMarket", data["markets"]["ETH-USD"]["address"]).functions.collateral().call() == tokens["FRAX"]
    pool = chain.contract("CollateralPool", data["markets"]["BTC-USD"]["collateralPool"])
    assert pool.functions.collateralTokens().call() == [tokens["WETH"], tokens["FRAX"]]
    oracle, params, _, _ = pool.functions.collateralOf(tokens["WETH"]).call()
    assert (oracle, tuple(params)) == (data["markets"]["BTC-USD"]["collaterals"]["WETH"]["oracle"],
                                       COLLATERALS["BTC-USD"]["WETH"][:3])
    assert chain.contract("ChainlinkOracle", oracle).functions.feed().call() == collateral_feeds["WETH"]

    again = _live(url, tmp_path, config)

    assert again.returncode == 0, again.stderr
    assert chain.nonce(deployer) == nonce + 16
