"""The quick simulation (`ape run simulate --quick`) in-process: 24 hours of the 5 August 2024
crash, 12 agents, through the matching engine and the keeper; its report must PASS."""

from perpkit.simulation.prices import load_window
from perpkit.simulation.report import write_chart, write_csv
from perpkit.simulation.runner import SimConfig, Simulation


def test_simulation__quick_crash_window_passes_its_report(project, chain, accounts, tmp_path):
    candles = load_window("2024-08-04 18:00", 24, seed=1)
    sim = Simulation(project, chain, accounts, SimConfig(candles, accounts=12, seed=1, out_dir=tmp_path))
    result = sim.run()

    failed = [c.line() for c in result.checks if not c.ok]
    assert not failed, failed
    assert len(result.checks) == 15  # 7 per market and the withdrawal check
    assert len(result.records) == 2 * 24
    trades = sum(r.trades for r in result.records)
    assert trades > 100
    assert sum(r.volume for r in result.records) > 1_000_000
    assert sum(len(times) for times in result.liquidation_times.values()) >= 1
    assert any(line.startswith("BTC-USD: funding paid") for line in result.summary)

    write_csv(result.records, tmp_path / "hourly.csv")
    write_chart(result.records, result.liquidation_times, tmp_path / "chart.png")
    assert (tmp_path / "hourly.csv").read_text().count("\n") == 1 + 2 * 24
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
