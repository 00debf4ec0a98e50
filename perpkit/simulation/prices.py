"""Price paths: the real hourly BTC/USD candles around the 5 August 2024 crash, and a synthetic
ETH/USD path that follows BTC's hourly returns with extra noise (seeded)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "btc-usd-1h-2024-08.csv"
DEFAULT_FROM = "2024-08-03 00:00"
DEFAULT_HOURS = 96  # 3 to 6 August: the slide, the crash of the 5th and the first rebound


@dataclass(frozen=True)
class Candle:
    time: int  # unix seconds (start of the hour)
    label: str
    btc: float  # close
    eth: float  # synthetic


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp[:16], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)


def load_window(start: str = DEFAULT_FROM, hours: int | None = DEFAULT_HOURS, end: str | None = None,
                seed: int = 0, eth_start: float = 3_200.0, path: Path = DATA) -> list[Candle]:
    """Candles from `start` for `hours` (or up to `end`), with a seeded synthetic ETH path."""
    begin = _parse(start)
    stop = _parse(end) if end else begin + timedelta(hours=hours or 0)
    rows = [r for r in csv.DictReader(path.open()) if begin <= _parse(r["date"]) < stop]
    if not rows:
        raise ValueError(f"no candles between {begin:%Y-%m-%d %H:%M} and {stop:%Y-%m-%d %H:%M} in {path.name}")
    rng, eth, prev = random.Random(seed), eth_start, float(rows[0]["close"])
    candles = []
    for row in rows:
        btc = float(row["close"])
        eth *= 1 + 1.2 * (btc / prev - 1) + rng.gauss(0, 0.002)  # ETH: higher beta, its own noise
        prev = btc
        candles.append(Candle(int(row["unix"]), row["date"][:16], btc, eth))
    return candles
