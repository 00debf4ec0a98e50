"""Price paths: the real hourly BTC/USD candles around the 5 August 2024 crash, and an ETH/USD
path: the real hourly ETH/USD closes when `data/eth-usd-1h-2024-08.csv` is there (same columns
as the BTC file), else a synthetic path that follows BTC's hourly returns at a beta of 1.2 with
extra noise (seeded): ETH fell with BTC on 5 August 2024, harder."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "btc-usd-1h-2024-08.csv"
ETH_DATA = DATA.with_name("eth-usd-1h-2024-08.csv")  # optional: real ETH/USD candles
DEFAULT_FROM = "2024-08-03 00:00"
DEFAULT_HOURS = 96  # 3 to 6 August: the slide, the crash of the 5th and the first rebound


@dataclass(frozen=True)
class Candle:
    time: int  # unix seconds (start of the hour)
    label: str
    btc: float  # close
    eth: float  # real ETH/USD close when an ETH file is given or present, else synthetic


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp[:16], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)


def load_window(start: str = DEFAULT_FROM, hours: int | None = DEFAULT_HOURS, end: str | None = None,
                seed: int = 0, eth_start: float = 3_200.0, path: Path = DATA,
                eth_path: Path | None = None) -> list[Candle]:
    """Candles from `start` for `hours` (or up to `end`). ETH: the closes in `eth_path` (default
    `ETH_DATA` if that file exists), which must cover every hour; else a seeded synthetic path."""
    begin = _parse(start)
    stop = _parse(end) if end else begin + timedelta(hours=hours or 0)
    rows = [r for r in csv.DictReader(path.open()) if begin <= _parse(r["date"]) < stop]
    if not rows:
        raise ValueError(f"no candles between {begin:%Y-%m-%d %H:%M} and {stop:%Y-%m-%d %H:%M} in {path.name}")
    if eth_path is None and ETH_DATA.exists():
        eth_path = ETH_DATA
    real_eth = {int(r["unix"]): float(r["close"]) for r in csv.DictReader(eth_path.open())} if eth_path else None
    rng, eth, prev = random.Random(seed), eth_start, float(rows[0]["close"])
    candles = []
    for row in rows:
        btc = float(row["close"])
        if real_eth is not None:
            if int(row["unix"]) not in real_eth:
                raise ValueError(f"no ETH candle at {row['date'][:16]} in {eth_path.name}")
            eth = real_eth[int(row["unix"])]
        else:
            eth *= 1 + 1.2 * (btc / prev - 1) + rng.gauss(0, 0.002)  # ETH: higher beta, its own noise
        prev = btc
        candles.append(Candle(int(row["unix"]), row["date"][:16], btc, eth))
    return candles
