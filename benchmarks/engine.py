"""Throughput of the matching engine: in-process matching, and settlement on Anvil.

    .venv/bin/python benchmarks/engine.py      # prints the tables, writes benchmarks/results/engine.md
    .venv/bin/python benchmarks/engine.py --quick   # a smoke run: fewer orders, nothing written

1. Matching, pure Python: a 10,000-order book (5,000 a side on a 1-USD tick grid around 60,000)
   takes a stream of orders, half passive limit orders that rest away from the touch, half
   marketable IOC orders that sweep it, so the book stays near 10k. Reports orders and fills per
   second of `OrderBook.submit`, and the signature check (EIP-712 hash + ECDSA recover) per second.
2. Settlement on Anvil (ape's foundry provider), per batch size: N makers' orders and one taker's
   IOC order are admitted through `Engine.submit` (all chain checks), then `Engine.flush` settles
   the N fills (eth_call screen, transaction, reconciliation). Reports fills per transaction,
   fills per second of flush, gas per fill and orders admitted per second. Run twice: on Anvil as
   ape-foundry starts it (with `--steps-tracing`, which ape needs for its tracebacks) and on Anvil
   without step tracing (what a production node does): step tracing makes mining superlinear in
   the batch size.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from eth_account import Account
from perpkit.devkeys import dev_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from perpkit.engine import ApeChain, Engine, EngineConfig, OrderBook, TimeInForce  # noqa: E402
from perpkit.engine.engine import OrderHasher, recover_signer  # noqa: E402
from perpkit.orders import Order, sign_order  # noqa: E402
from benchmarks.gas import deploy_exchange  # noqa: E402
from tests.conftest import BTC_PRICE, WAD  # noqa: E402

USDC = 10**6
MID = BTC_PRICE  # USD
FILL = WAD // 100  # 0.01 BTC per maker order / fill
BOOK_SIZE = 10_000


# ====================================================================== 1. matching in-process


def _stream(n: int, seed: int) -> tuple[list[Order], list[tuple[Order, TimeInForce]]]:
    """10k resting orders and `n` incoming ones (half passive GTC, half marketable IOC)."""
    rng = random.Random(seed)
    traders = [f"0x{i:040x}" for i in range(1, 501)]
    nonce = iter(range(10**9))

    def order(side: int, ticks: int, lots: int) -> Order:
        return Order(rng.choice(traders), 0, side * lots * FILL, (MID - side * ticks) * WAD, next(nonce), 2**40, False)

    seed_orders = [order(1 if i % 2 else -1, rng.randint(1, 250), rng.randint(1, 10)) for i in range(BOOK_SIZE)]
    incoming = []
    for _ in range(n):
        side = rng.choice((1, -1))
        if rng.random() < 0.5:
            incoming.append((order(side, rng.randint(1, 250), rng.randint(1, 10)), TimeInForce.GTC))
        else:  # a market order: its limit (300 ticks through the mid) never stops it
            incoming.append((order(side, -300, rng.randint(1, 10)), TimeInForce.IOC))
    return seed_orders, incoming


def bench_matching(n: int, runs: int = 3) -> dict:
    rates, fill_rates, sizes = [], [], []
    for run in range(runs):
        seed_orders, incoming = _stream(n, seed=run)
        book = OrderBook(0)
        for o in seed_orders:
            book.submit(o)
        start_size = len(book)
        fills = 0
        t0 = time.perf_counter()
        for o, tif in incoming:
            fills += len(book.submit(o, tif=tif).fills)
        dt = time.perf_counter() - t0
        rates.append(n / dt)
        fill_rates.append(fills / dt)
        sizes.append((start_size, len(book)))
    return {
        "orders_per_s": statistics.median(rates),
        "fills_per_s": statistics.median(fill_rates),
        "book": sizes[0],
        "n": n,
        "runs": runs,
    }


def bench_signatures(n: int) -> float:
    router = "0x" + "5a" * 20
    hasher = OrderHasher(31337, router)
    key = dev_key(999)
    address = Account.from_key(key).address
    signed = []
    for i in range(n):
        o = Order(address, 0, FILL, MID * WAD, i, 2**40, False)
        signed.append((o, sign_order(o, key, 31337, router)))
    t0 = time.perf_counter()
    for o, sig in signed:
        assert recover_signer(hasher(o), sig) == address
    return n / (time.perf_counter() - t0)


# ====================================================================== 2. settlement on Anvil


def _trader(i: int) -> tuple[str, bytes]:
    key = dev_key(2_000 + i)
    return Account.from_key(key).address, key


def bench_settlement(batch_sizes: list[int], steps_tracing: bool) -> list[dict]:
    from ape import accounts, chain, networks, project
    from ape_foundry.provider import FoundryProvider

    original = FoundryProvider.build_command
    if not steps_tracing:
        FoundryProvider.build_command = lambda self: [c for c in original(self) if c != "--steps-tracing"]
    rows = []
    try:
        with networks.ethereum.local.use_provider("foundry"):
            owner, matcher = accounts.test_accounts[0], accounts.test_accounts[5]
            ex = deploy_exchange(project, chain, owner, matcher, matcher)  # the gas benchmark's suite
            router, funding, market, token = ex.router, ex.funding, ex.market, ex.token
            makers = [_trader(i) for i in range(8)]
            taker = _trader(99)
            total = 10_000_000 * USDC
            token.mint(owner, total, sender=owner)
            token.approve(router, total, sender=owner)
            for address, _ in [*makers, taker]:
                router.depositFor(0, address, total // 10, sender=owner)

            adapter = ApeChain(router, matcher, markets={0: market}, funding=funding)
            nonce = iter(range(1, 10**9))
            expiry = chain.pending_timestamp + 30 * 86_400
            for n in batch_sizes:
                engine = Engine(adapter, [0], EngineConfig(batch_size=n, batch_interval=0))
                orders = []
                for i in range(n):
                    address, key = makers[i % len(makers)]
                    o = Order(address, 0, -FILL, MID * WAD, next(nonce), expiry, False)
                    orders.append((o, sign_order(o, key, chain.chain_id, router.address), TimeInForce.GTC))
                t = Order(taker[0], 0, n * FILL, MID * WAD, next(nonce), expiry, False)
                orders.append((t, sign_order(t, taker[1], chain.chain_id, router.address), TimeInForce.IOC))
                t0 = time.perf_counter()
                for o, sig, tif in orders:
                    d = engine.submit(o, sig, tif)
                    assert d.accepted, (d.reason, d.detail)
                admit = time.perf_counter() - t0
                t0 = time.perf_counter()
                report = engine.flush()
                elapsed = time.perf_counter() - t0
                assert len(report.settled) == n and not report.dropped, report
                rows.append(
                    {
                        "fills": n,
                        "txs": len(report.receipts),
                        "gas_per_fill": report.gas_used // n,
                        "flush_s": elapsed,
                        "fills_per_s": n / elapsed,
                        "admitted_per_s": len(orders) / admit,
                    }
                )
                print(f"  settle {n:>4} fills ({'step tracing' if steps_tracing else 'no tracing'}): {elapsed:.2f} s")
    finally:
        FoundryProvider.build_command = original
    return rows


# ====================================================================== report


def render(match: dict, sigs: float, traced: list[dict], plain: list[dict], elapsed: float) -> str:
    lines = [
        "# Matching engine throughput",
        "",
        f"`benchmarks/engine.py`, {_dt.date.today().isoformat()}, Python {platform.python_version()},"
        f" {os.cpu_count()} CPUs, {elapsed:.0f} s in all.",
        "",
        "## In-process (pure Python)",
        "",
        "| what | per second |",
        "|---|---:|",
        f"| orders matched by `OrderBook.submit` ({BOOK_SIZE:,}-order book, half marketable IOC) | {match['orders_per_s']:,.0f} |",
        f"| fills produced | {match['fills_per_s']:,.0f} |",
        f"| signature checks (EIP-712 hash + ECDSA recover, coincurve) | {sigs:,.0f} |",
        "",
        f"Book size {match['book'][0]:,} at the start, {match['book'][1]:,} after {match['n']:,} orders;"
        f" median of {match['runs']} runs.",
        "",
        "## Settlement on Anvil (`Engine.flush`: screen by eth_call, settle, reconcile)",
        "",
        "| Anvil | fills / tx | txs | gas / fill | flush (s) | fills / s | orders admitted / s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, rows in (("as ape-foundry runs it (`--steps-tracing`)", traced), ("without step tracing", plain)):
        for r in rows:
            lines.append(
                f"| {label} | {r['fills']} | {r['txs']} | {r['gas_per_fill']:,} | {r['flush_s']:.2f} |"
                f" {r['fills_per_s']:,.1f} | {r['admitted_per_s']:,.0f} |"
            )
    lines += [
        "",
        "Orders admitted / s: `Engine.submit` with every chain check (signature, expiry, `filled`,",
        "`minNonce`, margin views cached per block) against the same Anvil. Wall-clock figures from",
        "one run; on a busy 2-core machine they vary by up to a factor of 2 between runs.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer orders and batch sizes")
    args = parser.parse_args()
    os.chdir(ROOT)  # ape's project is the working directory's
    from ape.logging import logger

    logger.set_level("ERROR")
    t0 = time.perf_counter()
    match = bench_matching(20_000 if args.quick else 200_000, runs=1 if args.quick else 3)
    print(f"  matching: {match['orders_per_s']:,.0f} orders/s")
    sigs = bench_signatures(500 if args.quick else 3_000)
    traced = bench_settlement([1, 10] if args.quick else [1, 10, 50, 100], steps_tracing=True)
    plain = bench_settlement([1, 10] if args.quick else [1, 10, 50, 100, 200, 250], steps_tracing=False)
    table = render(match, sigs, traced, plain, time.perf_counter() - t0)
    print()
    print(table)
    if not args.quick:  # a smoke run does not replace the recorded figures
        out = ROOT / "benchmarks" / "results" / "engine.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
