"""Helpers for end-to-end tests that talk to an Anvil of their own and run commands as subprocesses.

The Anvil is started in its own process group (node_modules/.bin/anvil is a Node wrapper around
the binary) and that group is always terminated on exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from eth_account import Account
from web3 import Web3

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
APE = ROOT / ".venv" / "bin" / "ape"
PERPKIT = ROOT / ".venv" / "bin" / "perpkit"

# Anvil's development accounts: the public test mnemonic, the same as ape's TEST::n.
MNEMONIC = "test test test test test test test test test test test junk"
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Anvil's first, TEST::0


def dev_key(index: int) -> str:
    """The private key of TEST::<index> (Anvil's account <index>)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.to_0x_hex()


def dev_address(index: int) -> str:
    """The address of TEST::<index> (Anvil's account <index>)."""
    return Account.from_key(dev_key(index)).address


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, params: list | None = None):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["result"]


@contextmanager
def anvil(chain_id: int | None = None):
    """An Anvil on a free port; yields its URL and stops it (and its child) on exit."""
    port = free_port()
    args = [str(ANVIL), "--port", str(port), "--silent"]
    if chain_id is not None:
        args += ["--chain-id", str(chain_id)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                rpc(url, "eth_chainId")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"anvil on port {port} did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def artifacts() -> dict:
    """Contract types (abi, bytecode) from the project's build."""
    return json.loads((ROOT / ".build" / "__local__.json").read_text())["contractTypes"]


class Chain:
    """web3.py against an Anvil, with the project's ABIs; signs with Anvil's development keys."""

    def __init__(self, url: str):
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.types = artifacts()

    def contract(self, name: str, address: str):
        return self.w3.eth.contract(address=address, abi=self.types[name]["abi"])

    def nonce(self, address: str) -> int:
        return self.w3.eth.get_transaction_count(address)

    def code(self, address: str) -> bytes:
        return bytes(self.w3.eth.get_code(address))

    def _send(self, tx: dict, key: str):
        account = Account.from_key(key)
        tx = {**tx, "from": account.address, "nonce": self.nonce(account.address), "chainId": self.w3.eth.chain_id}
        # Headroom: an estimate at the head block can be short when the next block accrues funding.
        tx["gas"] = self.w3.eth.estimate_gas(tx) * 13 // 10 + 20_000
        tx["gasPrice"] = self.w3.eth.gas_price
        signed = account.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt.status == 1, receipt
        return receipt

    def deploy(self, name: str, *args, key: str = DEPLOYER_KEY) -> str:
        factory = self.w3.eth.contract(abi=self.types[name]["abi"], bytecode=self.types[name]["deploymentBytecode"]["bytecode"])
        return self._send({"data": factory.constructor(*args).data_in_transaction}, key).contractAddress

    def transact(self, fn, key: str = DEPLOYER_KEY):
        """Send a bound contract function call, e.g. `chain.transact(router.functions.settle(fills))`."""
        return self._send({"to": fn.address, "data": fn._encode_transaction_data()}, key)


def run(args: list, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    """A command from the project root; `env` adds to the environment."""
    return subprocess.run(
        [str(a) for a in args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
