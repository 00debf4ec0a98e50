"""Gas per item of PerpGateway batches (issue 16) on a local Anvil (started and stopped by ape).

    .venv/bin/python benchmarks/gateway.py      # prints the table, writes benchmarks/results/gateway.md

Per-item gas = `receipt.gas_used / items` (intrinsic 21,000 and calldata included, after refunds)
for batches of 1, 10, 100, 200 and 500 of: deposits without a permit, deposits each carrying an
EIP-2612 permit of the exact amount, and withdrawals to the trader. Steady state: each trader has
used a nonce of the same bitmap word before, has capital in the market and tokens in its wallet;
the gateway holds one unit of dust of the token. Extra rows: the first intent of a trader, a
gateway without dust, withdrawals into an empty wallet, and the router's own deposit / withdraw
in the same state (what the gateway cannot go below). Every 500-item batch is sent with a gas
limit of 30,000,000: it passes only if its execution fits a 30M block (before refunds).
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.gas import calldata_gas, deploy_exchange  # noqa: E402
from perpkit.devkeys import dev_signer  # noqa: E402
from perpkit.intents import (  # noqa: E402
    Deposit,
    Withdraw,
    sign_intent,
    sign_permit,
    signed_deposit,
    signed_withdraw,
)

USDC = 10**6
SIZES = (1, 10, 100, 200, 500)
DEADLINE = 2**40  # fixed: calldata (and its gas) does not depend on the clock
BLOCK_GAS = 30_000_000
MAX_UINT = 2**256 - 1


class Bench:
    def __init__(self, chain, ex, gateway, funder):
        self.chain, self.ex, self.gateway, self.funder = chain, ex, gateway, funder
        self.nonce = {}  # next intent nonce per trader (all in word 0 and 1)
        self.permit_nonce = {}
        self.token_name = ex.token.name()

    # ------------------------------------------------------------ bulk setup (unmeasured)

    def send_many(self, txs: list[dict]) -> None:
        """Transactions from unlocked / impersonated senders, mined in bulk."""
        provider, web3 = self.chain.provider, self.chain.provider.web3
        nonces = {}
        provider.auto_mine = False
        try:
            hashes = []
            for tx in txs:
                sender = tx["from"]
                if sender not in nonces:
                    nonces[sender] = web3.eth.get_transaction_count(sender)
                hashes.append(web3.eth.send_transaction({**tx, "gas": tx.get("gas", 300_000), "nonce": nonces[sender]}))
                nonces[sender] += 1
            while int(provider.make_request("txpool_status", [])["pending"], 16):
                provider.mine(1)
        finally:
            provider.auto_mine = True
        failed = [h for h in hashes if web3.eth.get_transaction_receipt(h)["status"] != 1]
        assert not failed, f"{len(failed)} setup transactions reverted"

    def traders(self, first: int, n: int, wallet_usdc: int, operator=True) -> list:
        """`n` generated traders: wallet tokens minted, the gateway their operator (impersonated)."""
        ts = [dev_signer(first + k) for k in range(n)]
        provider, token, router = self.chain.provider, self.ex.token, self.ex.router
        for t in ts:
            provider.set_balance(t.address, 10**18)
            provider.make_request("anvil_impersonateAccount", [t.address])
            self.nonce[t.address] = 0
            self.permit_nonce[t.address] = 0
        txs = []
        if wallet_usdc:
            txs += [{"from": self.funder.address, "to": token.address,
                     "data": token.mint.encode_input(t.address, wallet_usdc * USDC)} for t in ts]
        if operator:
            txs += [{"from": t.address, "to": router.address,
                     "data": router.setOperator.encode_input(self.gateway.address, True)} for t in ts]
        self.send_many(txs)
        return ts

    # ------------------------------------------------------------ items

    def _next(self, t) -> int:
        n = self.nonce[t.address]
        self.nonce[t.address] = n + 1
        return n

    def deposit_items(self, ts, usdc: int, permit: str | None = None, gateway=None) -> list:
        gateway = gateway or self.gateway
        cid, out = self.chain.chain_id, []
        for t in ts:
            d = Deposit(t.address, self.ex.market_id, usdc * USDC, self._next(t), DEADLINE)
            p = (0, 0, 0, b"\0" * 32, b"\0" * 32)
            if permit:
                value = usdc * USDC if permit == "exact" else MAX_UINT
                p = sign_permit(t.private_key, self.token_name, self.ex.token.address, t.address, gateway.address,
                                value, self.permit_nonce[t.address], DEADLINE, cid)
                self.permit_nonce[t.address] += 1
            out.append(signed_deposit(d, sign_intent(d, t.private_key, cid, gateway.address), p))
        return out

    def withdraw_items(self, ts, usdc: int) -> list:
        cid, out = self.chain.chain_id, []
        for t in ts:
            w = Withdraw(t.address, self.ex.market_id, usdc * USDC, t.address, self._next(t), DEADLINE)
            out.append(signed_withdraw(w, sign_intent(w, t.private_key, cid, self.gateway.address)))
        return out

    def try_run(self, fn, items, relayer):
        """`run`, or None when the batch does not fit a 30M gas limit (nothing changes then)."""
        from ape.exceptions import VirtualMachineError

        try:
            return self.run(fn, items, relayer)
        except VirtualMachineError as err:  # OutOfGasError is one
            print(f"  {len(items)} items: {err}", flush=True)
            for item in items:  # the permits were not consumed
                if len(item) == 3 and item[2][1] != 0:
                    self.permit_nonce[item[0][0]] -= 1
            return None

    def run(self, fn, items, relayer):
        # An explicit limit, never an estimate: with try/catch per item, eth_estimateGas can settle
        # on a limit at which the last item runs out of gas and is skipped (a relayer must do the same).
        receipt = fn(items, sender=relayer, gas_limit=BLOCK_GAS)
        gateway = fn.contract
        executed = len(receipt.events.filter(gateway.IntentExecuted))
        skipped = len(receipt.events.filter(gateway.IntentSkipped))
        assert (executed, skipped) == (len(items), 0), (executed, skipped)
        return receipt


def run() -> str:
    from ape import accounts, chain, config, networks, project

    config.get_config("ethereum").local.transaction_acceptance_timeout = 600
    rows: list[tuple[str, str, int, int, str]] = []  # (operation, case, items, per-item gas, note)

    def row(op, case, n, receipt, note=""):
        if receipt is None:
            rows.append((op, case, n, 0, "DOES NOT FIT: out of gas at a 30M limit"))
            print(f"{op:<10} {case:<52} {n:>4}  does not fit 30M", flush=True)
            return
        per = receipt.gas_used // n
        rows.append((op, case, n, per, note or f"total {receipt.gas_used:,}"))
        print(f"{op:<10} {case:<52} {n:>4} {per:>9,}  {note or f'total {receipt.gas_used:,}'}", flush=True)

    with networks.ethereum.local.use_provider("foundry") as provider:
        started = time.time()
        ta = accounts.test_accounts
        owner, relayer, matcher, guardian = ta[0], ta[3], ta[5], ta[6]
        ex = deploy_exchange(project, chain, owner, matcher, guardian)
        gateway = owner.deploy(project.PerpGateway, ex.router)
        ex.token.mint(gateway, 1, sender=owner)  # the dust (see PerpGateway's notes)
        b = Bench(chain, ex, gateway, owner)
        ts = b.traders(3_000, 500, wallet_usdc=100_000)

        # ---- first intent of each trader: nonce word 0 -> non-zero, capital 0 -> non-zero
        # (in batches of 100: 500 of these exceed a 30M block)
        for k in range(0, 500, 100):
            r = b.run(gateway.executeDeposits, b.deposit_items(ts[k:k + 100], 1_000, permit="exact"), relayer)
            if k == 0:
                row("deposit", "first intent of a trader, permit (exact amount)", 100, r)

        # ---- steady deposits carrying a permit of the exact amount (allowance 0 -> a -> 0)
        for n in SIZES:
            r = b.try_run(gateway.executeDeposits, b.deposit_items(ts[:n], 100, permit="exact"), relayer)
            row("deposit", "with permit (exact amount)", n, r)
        # unlimited allowance through one more permit, then deposits without a permit
        r = b.run(gateway.executeDeposits, b.deposit_items(ts[:250], 100, permit="max"), relayer)
        row("deposit", "with permit (unlimited allowance, first time)", 250, r)
        b.run(gateway.executeDeposits, b.deposit_items(ts[250:], 100, permit="max"), relayer)
        for n in SIZES:
            r = b.try_run(gateway.executeDeposits, b.deposit_items(ts[:n], 100), relayer)
            row("deposit", "no permit (unlimited allowance)", n, r)

        # ---- steady withdrawals to the trader (wallet already non-zero)
        for n in SIZES:
            r = b.try_run(gateway.executeWithdrawals, b.withdraw_items(ts[:n], 10), relayer)
            row("withdraw", "to the trader", n, r)

        # ---- a gateway without dust: its balance goes 0 -> a -> 0 in every item
        bare = owner.deploy(project.PerpGateway, ex.router)
        b.run(bare.executeDeposits, b.deposit_items(ts[:200], 1, permit="max", gateway=bare), relayer)
        r = b.run(bare.executeDeposits, b.deposit_items(ts[:200], 100, gateway=bare), relayer)
        row("deposit", "no permit, gateway WITHOUT dust", 200, r, f"total {r.gas_used:,}: refund-capped 20k store")

        # ---- cold withdrawals: fresh traders funded by depositFor, empty wallets, fresh nonce word
        fresh = b.traders(5_000, 200, wallet_usdc=0)
        ex.token.mint(owner, 200 * 1_000 * USDC, sender=owner)
        ex.token.approve(ex.router, MAX_UINT, sender=owner)
        b.send_many([{"from": owner.address, "to": ex.router.address,
                      "data": ex.router.depositFor.encode_input(ex.market_id, t.address, 1_000 * USDC)} for t in fresh])
        r = b.run(gateway.executeWithdrawals, b.withdraw_items(fresh, 10), relayer)
        row("withdraw", "first intent, empty wallet (two 0 -> non-zero stores)", 200, r)

        # ---- the router's own calls in the steady state (one transaction each, 21,000 included)
        t = ts[0]
        imp = accounts.test_accounts.impersonate_account(t.address)
        r = ex.router.withdraw(ex.market_id, 10 * USDC, sender=imp)
        row("router", "withdraw (wallet non-zero), own transaction", 1, r,
            f"{r.gas_used - 21_000 - calldata_gas(r):,} without intrinsic and calldata")
        ex.token.approve(ex.router, MAX_UINT, sender=imp)
        r = ex.router.deposit(ex.market_id, 10 * USDC, sender=imp)
        row("router", "deposit (repeat, unlimited allowance), own transaction", 1, r,
            f"{r.gas_used - 21_000 - calldata_gas(r):,} without intrinsic and calldata")
        elapsed = time.time() - started
    return render(rows, elapsed)


def render(rows, elapsed: float) -> str:
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    lines = [
        "# PerpGateway gas per item",
        "",
        f"`benchmarks/gateway.py`, {_dt.date.today().isoformat()}, commit {rev.strip()} + uncommitted gateway, "
        f"Anvil, solc 0.8.28 optimizer 1000 runs; {elapsed:.0f} s.",
        "Per item = the batch transaction's `gas_used` / items (21,000 intrinsic and calldata included, after "
        "refunds). Steady state unless said: the trader used a nonce of the same bitmap word before, has capital "
        "and wallet tokens; the gateway holds 1 unit of dust. Targets (issue 16): deposit <= 60,000 and "
        "withdraw <= 45,000 per item at 200; a 500-item batch under 30M (sent with a 30M gas limit).",
        "",
        "| operation | case | items | gas per item | note |",
        "|---|---|---:|---:|---|",
    ]
    for op, case, n, per, note in rows:
        lines.append(f"| {op} | {case} | {n} | {per:,} | {note} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    os.chdir(ROOT)
    table = run()
    out = ROOT / "benchmarks" / "results" / "gateway.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print()
    print(table)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
