"""The engine's whole view of the chain, behind one small adapter.

`ChainAdapter` is the interface the engine uses; `ApeChain` implements it over ape contract
objects. Views go out as raw JSON-RPC `eth_call`s, batched where there are several (web3's request
middlewares cost ~10 ms a call, more than Anvil takes to answer), and reverts are decoded here from
the contracts' ABIs: ape's own decoding of an error that bubbles up from a PerpMarket walks the
transaction's opcode trace and takes seconds. Transactions are built and signed with ape
(`as_transaction`, the account's `sign_transaction`) and sent raw, which skips ape's post-send
trace fetch (seconds for a batch of hundreds of fills).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol, Sequence

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from perpkit.errors import ErrorDecoder, Revert  # Revert is part of this interface

CANCELLED = 2**256 - 1  # router.filled(hash) of a cancelled order
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


@dataclass(frozen=True)
class MarketInfo:
    """What the engine needs of `PerpMarket.params()` (WAD)."""

    initial_margin_ratio: int
    maintenance_margin_ratio: int
    maker_fee: int
    taker_fee: int
    price_band: int
    min_position_size: int


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block: int
    gas_used: int


class ChainAdapter(Protocol):
    """Everything the engine reads from or sends to the chain."""

    chain_id: int
    router_address: str

    def head(self) -> tuple[int, int]:
        """(number, timestamp) of the latest block."""

    def order_states(
        self, hashes: Sequence[bytes], traders: Sequence[str]
    ) -> tuple[list[int], dict[str, int], tuple[int, int]]:
        """`router.filled(hash)` per hash, `router.minNonce(trader)` per trader, and the
        (number, timestamp) of the latest block: one round trip."""

    def is_operator(self, trader: str, operator: str) -> bool: ...

    def is_valid_erc1271(self, trader: str, digest: bytes, signature: bytes) -> bool: ...

    def market_info(self, market_id: int) -> MarketInfo: ...

    def mark_price(self, market_id: int) -> int: ...

    def accounts(self, market_id: int, traders: Sequence[str]) -> list[tuple[int, int]]:
        """(position size, accountValue) per trader."""

    def positions(self, market_id: int, traders: Sequence[str]) -> list[int]:
        """Position size per trader (needs no price, so it works while the oracle is down)."""

    def settle_call(self, fills: Sequence[tuple]) -> Revert | None:
        """eth_call of `router.settle(fills)` as the matcher: None if it would succeed."""

    def settle(self, fills: Sequence[tuple]) -> Receipt: ...

    def record_quote_call(self, market_id: int, bid: int, ask: int) -> Revert | None: ...

    def record_quote(self, market_id: int, bid: int, ask: int) -> Receipt: ...


class RpcError(RuntimeError):
    """A JSON-RPC error reply; `data` is the revert data when the node sent it."""

    def __init__(self, error):
        error = error if isinstance(error, Mapping) else {"message": str(error)}
        self.message = str(error.get("message", "RPC error"))
        raw = error.get("data")
        if isinstance(raw, Mapping):  # some nodes nest it
            raw = raw.get("data")
        self.data = bytes.fromhex(raw[2:]) if isinstance(raw, str) and raw.startswith("0x") else None
        super().__init__(self.message)


def _eth_call(to: str, data: bytes, sender: str | None = None) -> tuple[str, list]:
    tx = {"to": to, "data": "0x" + data.hex()}
    if sender:
        tx["from"] = sender
    return "eth_call", [tx, "latest"]


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


_FILLED = _selector("filled(bytes32)")
_MIN_NONCE = _selector("minNonce(address)")
_IS_OPERATOR = _selector("isOperator(address,address)")
_POSITION_OF = _selector("positionOf(address)")
_ACCOUNT_VALUE = _selector("accountValue(address)")
_PARAMS = _selector("params()")
_MARK_PRICE = _selector("markPrice(uint256)")
_IS_VALID_SIGNATURE = _selector("isValidSignature(bytes32,bytes)")
_LATEST_BLOCK = ("eth_getBlockByNumber", ["latest", False])


class ApeChain:
    """`ChainAdapter` over ape: `router` and `markets` (id -> PerpMarket) are ape contract
    instances, `matcher` the ape account that settles, `sampler` the one that records quotes
    (default: the matcher)."""

    def __init__(self, router, matcher, *, markets: Mapping[int, object], funding=None, sampler=None, extra_abis=()):
        self._router = router
        self._matcher = matcher
        self._sampler = sampler or matcher
        self._markets = dict(markets)
        self._funding = funding
        self._session = None
        self.router_address = router.address
        self.chain_id = router.provider.chain_id
        contracts = [router, *self._markets.values(), *([funding] if funding is not None else [])]
        self.errors = ErrorDecoder([c.contract_type.abi for c in contracts] + list(extra_abis))

    # ------------------------------------------------------------------ plumbing

    @property
    def _w3(self):
        return self._router.provider.web3

    def _rpc(self, calls: Sequence[tuple[str, list]]) -> list:
        """Raw JSON-RPC, the calls in one batch. Each result is the raw JSON value or an `RpcError`."""
        provider = self._w3.provider
        uri = getattr(provider, "endpoint_uri", None)
        if uri and str(uri).startswith("http"):
            if self._session is None:
                import requests

                self._session = requests.Session()
                self._session.trust_env = False  # no proxy lookup in the environment per request
            body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
            replies = self._session.post(str(uri), json=body, timeout=120).json()
            if isinstance(replies, dict):  # a node that refuses batches answers with one error
                raise RpcError(replies.get("error", replies))
            by_id = {r["id"]: r for r in replies}
            replies = [by_id[i] for i in range(len(calls))]
        else:  # IPC or websocket: web3's provider without its middlewares
            replies = [provider.make_request(m, p) for m, p in calls]
        return [RpcError(r["error"]) if "error" in r else r["result"] for r in replies]

    def _calls(self, requests: Sequence[tuple[str, bytes]], sender: str | None = None) -> list[bytes]:
        """eth_call each (to, data) at the latest block; raises `RpcError` if any reverts."""
        return [_bytes(r) for r in self._rpc([_eth_call(to, data, sender) for to, data in requests])]

    def _call(self, to: str, data: bytes, sender: str | None = None) -> bytes:
        return self._calls([(to, data)], sender)[0]

    def _try(self, to: str, data: bytes, sender: str) -> Revert | None:
        """eth_call as `sender`: None if it succeeds, else the decoded revert."""
        [result] = self._rpc([_eth_call(to, data, sender)])
        if not isinstance(result, RpcError):
            return None
        if result.data is not None:
            return self.errors.parse(result.data)
        return Revert("", {}, result.message)

    def _send(self, handler, *args, sender) -> Receipt:
        txn = handler.as_transaction(*args, sender=sender)
        signed = sender.sign_transaction(txn)
        w3 = self._w3
        tx_hash = w3.eth.send_raw_transaction(signed.serialize_transaction())
        rc = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=600, poll_latency=0.01)
        if rc["status"] != 1:
            raise RuntimeError(f"transaction 0x{bytes(tx_hash).hex()} reverted")
        return Receipt("0x" + bytes(tx_hash).hex(), rc["blockNumber"], rc["gasUsed"])

    # ------------------------------------------------------------------ views

    def head(self) -> tuple[int, int]:
        [block] = self._rpc([_LATEST_BLOCK])
        return _head(block)

    def order_states(self, hashes, traders):
        router = self.router_address
        calls = [_LATEST_BLOCK]
        calls += [_eth_call(router, _FILLED + bytes(h)) for h in hashes]
        calls += [_eth_call(router, _MIN_NONCE + abi_encode(["address"], [t])) for t in traders]
        block, *out = self._rpc(calls)
        words = [int.from_bytes(_bytes(r), "big") for r in out]
        return words[: len(hashes)], dict(zip(traders, words[len(hashes) :])), _head(block)

    def is_operator(self, trader: str, operator: str) -> bool:
        data = _IS_OPERATOR + abi_encode(["address", "address"], [trader, operator])
        return int.from_bytes(self._call(self.router_address, data), "big") == 1

    def is_valid_erc1271(self, trader: str, digest: bytes, signature: bytes) -> bool:
        [code] = self._rpc([("eth_getCode", [trader, "latest"])])
        if isinstance(code, RpcError) or code in ("0x", "0x0", None):
            return False
        data = _IS_VALID_SIGNATURE + abi_encode(["bytes32", "bytes"], [digest, signature])
        try:
            return self._call(trader, data)[:4] == ERC1271_MAGIC
        except RpcError:  # a wallet that reverts does not approve
            return False

    def market_info(self, market_id: int) -> MarketInfo:
        p = abi_decode(["uint64"] * 8 + ["uint128"] * 2, self._call(self._markets[market_id].address, _PARAMS))
        return MarketInfo(p[0], p[1], p[4], p[5], p[6], p[9])

    def mark_price(self, market_id: int) -> int:
        data = _MARK_PRICE + abi_encode(["uint256"], [market_id])
        return int.from_bytes(self._call(self.funding_address, data), "big")

    def accounts(self, market_id, traders):
        market = self._markets[market_id].address
        reqs = []
        for t in traders:
            arg = abi_encode(["address"], [t])
            reqs += [(market, _POSITION_OF + arg), (market, _ACCOUNT_VALUE + arg)]
        out = self._calls(reqs)
        return [
            (abi_decode(["int256"], out[2 * i][:32])[0], abi_decode(["int256"], out[2 * i + 1])[0])
            for i in range(len(traders))
        ]

    def positions(self, market_id, traders):
        market = self._markets[market_id].address
        out = self._calls([(market, _POSITION_OF + abi_encode(["address"], [t])) for t in traders])
        return [abi_decode(["int256"], r[:32])[0] for r in out]

    # ------------------------------------------------------------------ settlement and quotes

    @property
    def funding_address(self) -> str:
        return self._funding_contract().address

    def _funding_contract(self):
        if self._funding is None:
            from ape import project

            self._funding = project.FundingRate.at(self._router.fundingRate())
        return self._funding

    def settle_call(self, fills):
        data = bytes(self._router.settle.encode_input(list(fills)))
        return self._try(self.router_address, data, self._matcher.address)

    def settle(self, fills) -> Receipt:
        return self._send(self._router.settle, list(fills), sender=self._matcher)

    def record_quote_call(self, market_id, bid, ask):
        data = bytes(self._funding_contract().recordQuote.encode_input(market_id, bid, ask))
        return self._try(self.funding_address, data, self._sampler.address)

    def record_quote(self, market_id, bid, ask) -> Receipt:
        return self._send(self._funding_contract().recordQuote, market_id, bid, ask, sender=self._sampler)


def _bytes(result) -> bytes:
    if isinstance(result, RpcError):
        raise result
    return bytes.fromhex(result[2:])


def _head(block) -> tuple[int, int]:
    if isinstance(block, RpcError):
        raise block
    return int(block["number"], 16), int(block["timestamp"], 16)
