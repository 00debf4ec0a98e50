"""Numbers in the units people read: USD with 2 decimals, token amounts with their symbol, base
sizes signed, ratios in %, addresses short. The CLI's tables and the error decoder's human lines
both use these, so a value reads the same wherever it is printed."""

from __future__ import annotations

from decimal import Decimal

from perpkit.model import WAD


def _dec(wad: int, scale: int = WAD) -> Decimal:
    return Decimal(wad) / Decimal(scale)


def fmt_num(wad: int | None, places: int = 2, scale: int = WAD, sign: bool = False) -> str:
    if wad is None:
        return "-"
    value = _dec(wad, scale).quantize(Decimal(1).scaleb(-places))
    return f"{value:+,.{places}f}" if sign else f"{value:,.{places}f}"


def fmt_usd(wad: int) -> str:
    """A WAD USD value: `9,500.00 USD`."""
    return f"{fmt_num(wad)} USD"


def fmt_size(wad: int) -> str:
    text = f"{_dec(wad):+,.18f}".rstrip("0").rstrip(".")
    return "0" if wad == 0 else text


def fmt_pct(wad: int | None, places: int = 4) -> str:
    return "-" if wad is None else f"{_dec(wad) * 100:+.{places}f} %"


def fmt_ratio(wad: int) -> str:
    """A WAD fraction as an unsigned percentage with no trailing zeros: `5 %`, `0.05 %`."""
    text = f"{_dec(wad) * 100:,.16f}".rstrip("0").rstrip(".")
    return f"{text} %"


def fmt_token(amount: int, decimals: int, symbol: str = "") -> str:
    """A token amount in whole tokens, all its decimals kept: `1.5 WBTC`."""
    text = f"{_dec(amount, 10**decimals):,.{decimals}f}".rstrip("0").rstrip(".")
    return f"{text} {symbol}" if symbol else text


def short_address(address: str) -> str:
    """`0x70997970…79C8`: enough to tell test accounts and contracts apart in one line."""
    return f"{address[:10]}…{address[-4:]}"
