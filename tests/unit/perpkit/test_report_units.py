"""Lines meant for people in human units: the invariant report, and when ape's own lines show."""

from types import SimpleNamespace

from perpkit.console import verbosity_given
from perpkit.invariants import check_market

W = 10**18


class _Market:
    address = "0x0000000000000000000000000000000000000001"

    def __init__(self, vault: int, capital: int):
        self._vault, self._capital = vault, capital

    def collateralScale(self): return 10**12  # noqa: E704 - a six-decimal token
    def vault(self): return self._vault  # noqa: E704
    def capitalTotal(self): return self._capital  # noqa: E704
    def insuranceFund(self): return 3_997_54 * W // 100  # noqa: E704
    def pnlPosTotal(self): return 0  # noqa: E704
    def openInterest(self): return (9_451_782 * 10**12, 9_451_782 * 10**12)  # noqa: E704
    def haircut(self): return W  # noqa: E704

    def accountOf(self, who):
        size = 9_451_782 * 10**12 if who == "long" else -9_451_782 * 10**12
        return SimpleNamespace(size=size, capital=self._capital // 2, pnl=0)


class _Token:
    def __init__(self, balance: int):
        self._balance = balance

    def balanceOf(self, _):
        return self._balance


def test_check_market__details_in_usd_and_base_units():
    market = _Market(vault=6_130_082_677_158 * 10**12, capital=6_041_114_31 * W // 100)
    lines = [c.line() for c in check_market(market, _Token(6_130_082_677_158), ["long", "short"])]
    assert lines == [
        "PASS  vault reconciles with token balance: token balance 6,130,082.68 USD vs vault 6,130,082.68 USD",
        "PASS  senior solvency: vault 6,130,082.68 USD >= capital 6,041,114.31 USD + insurance 3,997.54 USD",
        "PASS  open interest balanced and summed: longs 9.451782 shorts 9.451782 sum+ 9.451782 sum- 9.451782",
        "PASS  capital total summed: 6,041,114.31 USD vs 6,041,114.31 USD",
        "PASS  positive pnl total summed: 0.00 USD vs 0.00 USD",
        "PASS  haircut within [0, 1]: h = 1.000000",
    ]


def test_check_market__a_one_wei_gap_is_named_in_wei():
    """Two decimals would print equal figures for a vault one wei off its token balance."""
    market = _Market(vault=6_130_082_677_158 * 10**12 + 1, capital=6_041_114_31 * W // 100)
    vault = check_market(market, _Token(6_130_082_677_158), ["long", "short"])[0]
    assert not vault.ok
    assert vault.detail == "token balance 6,130,082.68 USD vs vault 6,130,082.68 USD (apart by 1 wei)"


def test_verbosity_given__every_spelling_of_the_flag():
    assert all(verbosity_given(args) for args in (["-v", "INFO"], ["-vDEBUG"], ["--verbosity", "INFO"],
                                                  ["--network", "x", "--verbosity=INFO"]))
    assert not any(verbosity_given(args) for args in ([], ["--ticks", "2"], ["--network", "ethereum:local:node"]))
