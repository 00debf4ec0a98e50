"""The report's haircut line (perpkit.simulation.report.haircut_check) passes only when h = 1 in
every market-hour without bad or unpaid debt, and FAILs on a crafted series where it is not."""

from perpkit.simulation.report import HourRecord, haircut_check, liquidation_check


def _hour(label, haircut, bad_debt=0.0, debt=0.0, market="BTC-USD"):
    return HourRecord(time=0, label=label, market=market, index=60_000.0, mark=60_000.0, funding_rate=0.0,
                      open_interest=1.0, insurance=0.0, haircut=haircut, trades=1, volume=1.0, liquidations=0,
                      bad_debt=bad_debt, pnl_warming=0.0, debt=debt)


def test_haircut_check__h_one_without_debt__passes():
    records = [_hour("00:00", 1.0), _hour("01:00", 0.8, bad_debt=120.0), _hour("02:00", 0.9, debt=50.0)]
    check = haircut_check(records)
    assert check.ok
    assert check.detail == "3 market-hours, 1 without bad or unpaid debt, 0 of them with h < 1"


def test_haircut_check__cut_while_solvent__fails_with_the_worst_hour():
    records = [_hour("00:00", 1.0), _hour("01:00", 0.97), _hour("02:00", 0.9021, market="ETH-USD"),
               _hour("03:00", 0.5, bad_debt=1.0)]
    check = haircut_check(records)
    assert not check.ok
    assert check.name == "haircut: h = 1 in every hour without bad or unpaid debt"
    assert check.detail == ("4 market-hours, 3 without bad or unpaid debt, 2 of them with h < 1 "
                            "(lowest 0.9021: ETH-USD 02:00)")
    assert check.line().startswith("FAIL")


def test_liquidation_check__an_hour_ending_with_an_unhealthy_account__fails():
    ok = liquidation_check([_hour("00:00", 1.0), _hour("01:00", 1.0)])
    assert ok.ok and ok.detail == "2 market-hours, 0 liquidations, 0 hours ending with an account below maintenance"
    late = _hour("02:00", 1.0, market="ETH-USD")
    late.unhealthy = 3
    check = liquidation_check([_hour("00:00", 1.0), late])
    assert not check.ok
    assert check.detail == ("2 market-hours, 0 liquidations, 1 hours ending with an account below maintenance "
                            "(most 3: ETH-USD 02:00)")
