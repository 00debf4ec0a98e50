"""Keeper benchmark: time and transactions to clear N = 10, 100 and 1,000 (and with --big 10,000)
unhealthy accounts after a price shock, on Anvil (run as
`.venv/bin/python benchmarks/keeper.py [--quick | --big]`).

Each N gets a fresh Anvil (without step tracing, as a production node runs), a deploy from
markets.yaml, N traders long 0.1 BTC at about 9x against a market maker, then an 8 % drop. The
keeper ticks until nobody is liquidatable, liquidating in gas-budgeted `liquidateBatch`
transactions. Prints a markdown table and writes benchmarks/results/keeper.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PERPKIT_FAST_ANVIL"] = "1"  # tools/bin/anvil drops --steps-tracing

from benchmarks.gas import deposit_many  # noqa: E402
from perpkit.config import load  # noqa: E402
from perpkit.devkeys import dev_account  # noqa: E402
from perpkit.deploy import DeploymentRecord, Deployer  # noqa: E402
from perpkit.keeper import Keeper, handles_from_record  # noqa: E402
from perpkit.orders import Order, fill_tuple, sign_order  # noqa: E402
from perpkit.model import WAD

USDC = 10**6
SIZE = WAD // 10  # 0.1 BTC each
PRICE = 60_000 * WAD


def bench(n: int, workdir: Path) -> dict:
    from ape import accounts, chain, networks, project

    with networks.ethereum.local.use_provider("foundry"):
        deployer, mm, keeper_account = accounts.test_accounts[0], accounts.test_accounts[1], accounts.test_accounts[2]
        record = DeploymentRecord.open(workdir, chain.chain_id, fresh=True)
        Deployer(project, chain, deployer, load(ROOT / "markets.yaml"), record, "local", log=lambda _: None).run()
        data = record.data
        btc = data["markets"]["BTC-USD"]
        router = project.PerpRouter.at(data["router"])
        market = project.PerpMarket.at(btc["address"])
        token = project.MockERC20.at(data["tokens"]["USDC"])
        feed = project.MockV3Aggregator.at(btc["feed"])

        traders = [dev_account(100 + i) for i in range(n)]
        margin = 660 * USDC  # 0.1 BTC at 60k: 600 of initial margin + 3 of fee, ~9.1x
        # the maker carries every short, the keeper takes every long over: margin for N of them
        deep = (5_000_000 + 1_000 * n) * USDC
        total = n * margin + 2 * deep
        token.mint(deployer, total, sender=deployer)
        token.approve(router, total, sender=deployer)
        router.depositFor(btc["id"], mm, deep, sender=deployer)
        router.depositFor(btc["id"], keeper_account, deep, sender=deployer)
        deposit_many(chain, router, btc["id"], deployer, [t.address for t in traders], margin)

        # a live market: funding cranked and accruing before the positions open, so that their
        # snapshots are non-zero (a first funding settlement from 0 would cost 20,000 more gas)
        funding = project.FundingRate.at(data["fundingRate"])
        funding.crank(btc["id"], sender=deployer)
        chain.mine(1, deltatime=60)
        expiry = chain.blocks.head.timestamp + 86_400
        sell = Order(mm.address, btc["id"], -SIZE * n, PRICE, 1, expiry)
        sell_sig = sign_order(sell, mm.private_key, chain.chain_id, router.address)
        fills = []
        for i, t in enumerate(traders):
            buy = Order(t.address, btc["id"], SIZE, PRICE, 1, expiry)
            fills.append(fill_tuple(sell, sell_sig, buy, sign_order(buy, t.key, chain.chain_id, router.address), SIZE))
        for start in range(0, n, 100):
            router.settle(fills[start : start + 100], sender=deployer)
        assert market.openInterest()[0] == SIZE * n
        feed.updateAnswer(55_200 * 10**8, sender=deployer)  # -8 %

        handles = handles_from_record(project, data)[:1]
        k = Keeper(chain, funding, handles, keeper_account, crank_interval=10**9, log=lambda _: None)
        scan_start = time.perf_counter()
        plan = k.scan(handles[0])
        scan_s = time.perf_counter() - scan_start
        nonce = keeper_account.nonce
        start = time.perf_counter()
        ticks = 0
        while True:
            ticks += 1
            k.tick()
            if not k.scan(handles[0]):
                break
        clear_s = time.perf_counter() - start
        left = sum(1 for t in traders if market.accountOf(t.address).size != 0)
        gas = sum(k.stats.gas_by_kind.get("liquidate", []))
        return {
            "n": n,
            "unhealthy": len(plan),
            "scan_s": scan_s,
            "clear_s": clear_s,
            "txs": keeper_account.nonce - nonce,
            "ticks": ticks,
            "left": left,
            "liquidations": k.stats.liquidations,
            "gas": gas // max(k.stats.liquidations, 1),
            "rate": n / clear_s,
        }


def render(rows: list[dict], seconds: float) -> str:
    lines = [
        "# Keeper: clearing unhealthy accounts after a price shock",
        "",
        f"`benchmarks/keeper.py`, {_dt.date.today().isoformat()}, Anvil 1.7.1 without step tracing, 2 CPUs, "
        f"{seconds:.0f} s in all. N traders long 0.1 BTC at ~9.1x, BTC -8 %: every one is below maintenance. ",
        "The keeper discovers them from events, scans with batched `candidatesOf` calls (250 accounts per",
        "eth_call), and liquidates them in `liquidateBatch` transactions of an 8M gas budget (160",
        "accounts), each checked by an eth_call first.",
        "",
        "| N | found unhealthy | scan (s) | time to clear (s) | accounts / s | transactions | ticks | left | gas / liquidation |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['unhealthy']:,} | {r['scan_s']:.2f} | {r['clear_s']:.1f} | {r['rate']:,.0f} | "
            f"{r['txs']:,} | {r['ticks']} | {r['left']} | {r['gas']:,} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 10 only, nothing written")
    parser.add_argument("--big", action="store_true", help="N = 10,000 as well (a few minutes of setup)")
    args = parser.parse_args()
    os.chdir(ROOT)
    from ape.logging import logger

    logger.set_level("ERROR")
    t0 = time.perf_counter()
    rows = []
    for n in [10] if args.quick else [10, 100, 1000] + ([10_000] if args.big else []):
        rows.append(bench(n, ROOT / ".cache" / "bench-keeper"))
        print(rows[-1], flush=True)
    table = render(rows, time.perf_counter() - t0)
    print(table)
    if not args.quick:
        out = ROOT / "benchmarks" / "results" / "keeper.md"
        out.write_text(table)
        print(f"written to {out}")


if __name__ == "__main__":
    main()
