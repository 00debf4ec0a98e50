"""Simulation agents as plain decision functions: what each one wants to trade this hour.

An agent sees the index price, its position and its equity, and returns `Intent`s; the runner
turns them into signed EIP-712 orders for the matching engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from perpkit.model import WAD



@dataclass(frozen=True)
class Intent:
    size: int  # signed WAD base units
    price: int  # WAD limit price
    kind: str  # "limit" (rests), "ioc" (takes what crosses, the rest is dropped)
    reduce_only: bool = False


@dataclass
class MarketMaker:
    """Quotes a bid and an ask around the index, skewed against its inventory so that it sheds
    risk: long inventory lowers both quotes (sells more easily), short raises them."""

    half_spread: float = 0.0005  # 5 bp
    levels: int = 3
    level_step: float = 0.0005
    quote_notional: float = 50_000.0  # USD per level
    skew_per_notional: float = 0.004  # price shift per 100 % of equity held as inventory

    def quotes(self, index: float, position: int, equity: float) -> list[Intent]:
        if equity <= 0:
            return []
        inventory = position / WAD * index / equity
        mid = index * (1 - self.skew_per_notional * inventory)
        size = int(self.quote_notional / index * WAD)
        intents = []
        for level in range(self.levels):
            offset = self.half_spread + level * self.level_step
            intents.append(Intent(size, _wad(mid * (1 - offset)), "limit"))
            intents.append(Intent(-size, _wad(mid * (1 + offset)), "limit"))
        return intents


@dataclass
class Taker:
    """Opens a position at a random leverage between 1x and its cap, holds it for a while, then
    closes. An over-levered taker sits close to the market maximum and is the one a crash finds."""

    rng: random.Random
    max_leverage: float
    min_leverage: float = 1.0
    trade_probability: float = 0.25
    close_probability: float = 0.15
    slippage: float = 0.01  # IOC limit this far through the index
    trend_following: float = 0.65  # chance of trading with the last hour's move
    last_index: float = 0.0

    def decide(self, index: float, position: int, equity: float) -> list[Intent]:
        move, self.last_index = (index - self.last_index if self.last_index else 0.0), index
        if position != 0:
            if self.rng.random() < self.close_probability:
                side = -1 if position > 0 else 1
                return [Intent(-position, _wad(index * (1 + side * self.slippage)), "ioc", reduce_only=True)]
            return []
        if equity <= 0 or self.rng.random() >= self.trade_probability:
            return []
        leverage = self.rng.uniform(self.min_leverage, self.max_leverage)
        with_trend = self.rng.random() < (self.trend_following if move else 0.5)
        side = (1 if move >= 0 else -1) * (1 if with_trend else -1)
        size = int(equity * leverage / index * WAD) // 10**12 * 10**12  # a round number of base units
        return [Intent(side * size, _wad(index * (1 + side * self.slippage)), "ioc")] if size else []


def make_takers(count: int, seed: int, market_max_leverage: float, over_levered_share: float = 0.3) -> list[Taker]:
    """`count` takers; a share of them over-levered (within 95 % of the market maximum, after fees)."""
    rng = random.Random(seed)
    cap = market_max_leverage * 0.95
    takers = []
    for i in range(count):
        over = i < round(count * over_levered_share)
        if over:
            takers.append(Taker(random.Random(rng.random()), cap, min_leverage=0.9 * cap))
        else:
            takers.append(Taker(random.Random(rng.random()), rng.uniform(1.0, cap / 2)))
    return takers


def _wad(x: float) -> int:
    """USD float -> WAD, on a cent grid so prices stay readable."""
    return int(round(x * 100)) * 10**16


@dataclass
class CollateralLong:
    """Margined with another collateral token only (WETH, no settlement token): at its first hour it
    buys `leverage` times its margin value (the collateral at its weight) and holds through
    whatever comes, never adding margin. Once its position is gone (liquidated) it stays flat."""

    leverage: float
    slippage: float = 0.01
    opened: bool = False

    def decide(self, index: float, position: int, equity: float) -> list[Intent]:
        if position != 0:
            self.opened = True
            return []
        if self.opened or equity <= 0:
            return []
        size = int(equity * self.leverage / index * WAD) // 10**12 * 10**12
        return [Intent(size, _wad(index * (1 + self.slippage)), "ioc")] if size else []
