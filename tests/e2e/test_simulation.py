"""The quick simulation (`ape run simulate --quick`) in-process: 24 hours of the 5 August 2024
crash, 12 agents and a WETH-margined long, through the matching engine and the keeper; its report
must PASS, and the WETH-margined account must go the whole way: position liquidated, its USDC debt
repaid by selling its WETH at the liquidation discount, the rest of its WETH given back."""

import random

import pytest

from perpkit.simulation.agents import WAD, CollateralLong, Intent
from perpkit.simulation.prices import load_window
from perpkit.simulation.chart import write_chart
from perpkit.simulation.report import write_csv
from perpkit.simulation.runner import SimConfig, Simulation

DISCOUNT = 5 * WAD // 100  # markets.yaml: WETH in BTC-USD


def test_simulation__quick_crash_window_passes_its_report(project, chain, accounts, tmp_path):
    candles = load_window("2024-08-04 18:00", 24, seed=1)
    sim = Simulation(project, chain, accounts, SimConfig(candles, accounts=12, seed=1, out_dir=tmp_path))
    result = sim.run()

    failed = [c.line() for c in result.checks if not c.ok]
    assert not failed, failed
    # 7 per market, per collateral pool one per token and the flat-debt check, the withdrawal check,
    # the haircut's and the keeper's hour-by-hour checks
    assert len(result.checks) == 7 * 2 + (2 + 1) + (1 + 1) + 1 + 1 + 1
    [haircut] = [c for c in result.checks if c.name.startswith("haircut:")]
    assert haircut.ok and haircut.detail.startswith("48 market-hours, ")
    [keeper] = [c for c in result.checks if c.name.startswith("keeper:")]
    assert keeper.ok and all(r.unhealthy == 0 for r in result.records)
    clean = [r for r in result.records if r.bad_debt == 0 and r.debt == 0]
    # not vacuous: most hours carry no debt (the WETH-margined long's realised loss is debt until
    # its WETH is sold), and in each of them nobody is cut
    assert len(clean) > len(result.records) // 2 and all(r.haircut == 1 for r in clean)
    assert [c.name for c in result.checks if "collateral" in c.name] == [
        "BTC-USD collateral WETH: pool balance = accounted total = sum of balances",
        "BTC-USD collateral FRAX: pool balance = accounted total = sum of balances",
        "BTC-USD collateral flat debt only while backed by collateral",
        "ETH-USD collateral WBTC: pool balance = accounted total = sum of balances",
        "ETH-USD collateral flat debt only while backed by collateral",
    ]
    assert len(result.records) == 2 * 24
    trades = sum(r.trades for r in result.records)
    assert trades > 100
    assert sum(r.volume for r in result.records) > 1_000_000
    assert sum(len(times) for times in result.liquidation_times.values()) >= 1
    assert any(line.startswith("BTC-USD: funding paid") for line in result.summary)

    # The WETH-margined long: 10 WETH, no USDC, about 6x its margin value long BTC.
    st = result.eth_margined
    keeper = sim.keeper_account.address
    assert (st["weth_deposited"], st["weight"]) == (10 * WAD, 80 * WAD // 100)
    margin = 10 * candles[0].eth * 0.8
    size = 6 * margin / candles[0].btc  # sized at the index; bought within 1 % above it
    assert 0.9 * size < st["size"] / WAD <= size and candles[0].btc <= st["entry"] / WAD <= 1.01 * candles[0].btc
    # the crash takes the whole position at once, on 5 August, and no fee (no capital or profit to take it from)
    [liquidation] = st["liquidations"]
    assert (liquidation["amount"], liquidation["liquidator"], liquidation["fee"]) == (st["size"], keeper, 0)
    assert liquidation["hour"].startswith("2024-08-05")
    assert liquidation["mark"] < st["entry"] * 93 // 100
    # the USDC debt left is repaid to the wei by selling WETH to the keeper, 5 % under the oracle
    assert st["debt"] > 0 and st["repaid"] == st["debt"] == sum(s["repaid"] for s in st["seizures"])
    assert (st["bad_debt"], st["pnl_end"]) == (0, 0)
    for sale in st["seizures"]:
        unit = -(-sale["price"] * (WAD - DISCOUNT) // WAD)  # WAD per WETH, rounded up
        assert sale["liquidator"] == keeper and sale["hour"] == liquidation["hour"]
        assert (sale["amount"] - 1) * unit < sale["repaid"] * WAD <= sale["amount"] * unit  # units rounded up
    seized = sum(s["amount"] for s in st["seizures"])
    # WETH is conserved: what was not sold is the account's, and it took it all back at the end
    assert seized + st["weth_left"] == st["weth_deposited"]
    assert st["weth_withdrawn"] == st["weth_left"] > 0
    assert (sim.weth.balanceOf(st["account"]), sim.pools["BTC-USD"].balanceOf(st["account"], sim.weth)) == (
        st["weth_left"], 0)
    assert ("BTC-USD", keeper, sim.weth.address, seized) in sim.collateral_withdrawals  # the keeper took its WETH out
    eth_lines = [line for line in result.summary if line.startswith("ETH-margined trader:")]
    assert len(eth_lines) == 2 + len(st["liquidations"]) + len(st["seizures"])
    assert eth_lines[-1].startswith(f"ETH-margined trader: debt repaid {st['repaid'] / WAD:,.2f} USD, bad debt 0.00 USD, "
                                    "debt left 0.00 USD")

    write_csv(result.records, tmp_path / "hourly.csv")
    write_chart(result.records, result.liquidation_times, tmp_path / "chart.png")
    assert (tmp_path / "hourly.csv").read_text().count("\n") == 1 + 2 * 24
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ chain-free parts


def test_collateral_long__opens_once_at_its_leverage_and_stays_flat_after_liquidation():
    brain = CollateralLong(leverage=6)
    assert brain.decide(60_000.0, 0, 24_000.0) == [Intent(2_400_000_000_000_000_000, 60_600 * WAD, "ioc")]
    assert brain.decide(60_000.0, 0, 24_000.0) == [Intent(2_400_000_000_000_000_000, 60_600 * WAD, "ioc")]  # unfilled
    assert brain.decide(59_000.0, 2 * WAD, 20_000.0) == []  # holds, never tops up
    assert brain.decide(50_000.0, 0, 1_000.0) == []  # liquidated: stays flat
    assert CollateralLong(leverage=6).decide(60_000.0, 0, 0.0) == []  # no margin, no order


def test_load_window__eth_file__weth_follows_its_closes(tmp_path):
    btc = load_window("2024-08-05 00:00", 3, seed=1)
    eth_csv = tmp_path / "eth.csv"
    eth_csv.write_text("date,unix,low,high,open,close,volume,vol_fiat\n" + "".join(
        f"{c.label}:00+00:00,{c.time},0,0,0,{close},0,0\n" for c, close in zip(btc, (2_688.5, 2_520.25, 2_301.0))))

    candles = load_window("2024-08-05 00:00", 3, seed=1, eth_path=eth_csv)

    assert [(c.label, c.btc, c.eth) for c in candles] == [
        ("2024-08-05 00:00", 56_142.48, 2_688.5), ("2024-08-05 01:00", 54_426.99, 2_520.25),
        ("2024-08-05 02:00", 54_697.74, 2_301.0)]
    with pytest.raises(ValueError, match="no ETH candle at 2024-08-05 03:00 in eth.csv"):
        load_window("2024-08-05 00:00", 4, seed=1, eth_path=eth_csv)


def test_load_window__no_eth_file__synthetic_eth_follows_btc_at_beta_1_2(monkeypatch, tmp_path):
    monkeypatch.setattr("perpkit.simulation.prices.ETH_DATA", tmp_path / "absent.csv")
    candles = load_window("2024-08-05 00:00", 3, seed=7, eth_start=3_000.0)
    rng, eth, prev = random.Random(7), 3_000.0, candles[0].btc
    for c in candles:
        eth *= 1 + 1.2 * (c.btc / prev - 1) + rng.gauss(0, 0.002)
        prev = c.btc
        assert c.eth == eth
