"""An in-process EVM (pyrevm, revm's Python bindings) loading ape's build artifacts.

The fuzz suite runs its state machines here for deep campaigns: the same bytecode as on Anvil
(`.build/__local__.json`, written by `ape compile`), no JSON-RPC, no mining, and snapshots that
cost a journal checkpoint. The surface copies the part of ape that the state machines use, so
one machine drives either chain:

    chain = InProcessChain.from_build()
    token = chain.deploy("MockERC20", "USD Coin", "USDC", 6, sender=owner)
    token.mint(alice, 10**6, sender=alice)        # a transaction: mined in the next block
    token.balanceOf(alice)                         # a view at the head block -> 1000000

Blocks: every transaction is mined in a block of its own, one second after the head unless
`pending_timestamp` says otherwise (as ape on Anvil). A transaction that reverts raises `Reverted`
with the raw revert data and changes nothing, not even the head.

Gas: receipts carry revm's `gas_used`, but the transactions share one uncommitted journal (that is
what makes snapshots cheap), so storage and accounts touched by an earlier transaction stay warm
(EIP-2929) and later transactions report too little gas. Gas figures come from Anvil
(`benchmarks/gas.py`); `benchmarks/floor/measure.py` rebuilds a cold state per transaction where it
needs in-process gas.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from pyrevm import EVM, BlockEnv, CfgEnv, Env

from perpkit.errors import ErrorDecoder, canonical_type

ROOT = Path(__file__).resolve().parents[1]
ANVIL_CHAIN_ID = 31337
GENESIS_TIME = 1_700_000_000
TX_GAS = 30_000_000
_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")


class Reverted(Exception):
    """A call or transaction reverted; `data` is the raw revert data (selector and arguments)."""

    def __init__(self, data: bytes, gas_used: int = 0):
        super().__init__(f"reverted: 0x{data.hex()}")
        self.data = data
        self.gas_used = gas_used


# ================================================================== ABI helpers


def _plain(value):
    """Arguments as eth_abi takes them: contracts and accounts by address, sequences as lists."""
    address = getattr(value, "address", None)
    if isinstance(address, str):
        return address
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list
    bytecode: bytes

    @classmethod
    def load_all(cls, build: Path) -> dict[str, Artifact]:
        types = json.loads((build / "__local__.json").read_text())["contractTypes"]
        out = {}
        for name, ct in types.items():
            code = (ct.get("deploymentBytecode") or {}).get("bytecode") or "0x"
            out[name] = cls(name, ct["abi"], bytes.fromhex(code[2:]))
        return out


class Method:
    """One ABI function of a deployed contract: call it like an ape contract method."""

    def __init__(self, contract: Contract, abi: dict):
        self.contract, self.abi = contract, abi
        self.name = abi["name"]
        self.input_types = [canonical_type(i) for i in abi["inputs"]]
        self.output_types = [canonical_type(o) for o in abi["outputs"]]
        signature = f"{self.name}({','.join(self.input_types)})"
        self.selector = keccak(text=signature)[:4]
        self.is_view = abi.get("stateMutability") in ("view", "pure")
        self._struct = _struct_type(abi["outputs"])
        self._static_words = _static_layout(self.output_types)
        self._calldata: dict = {}

    def encode_input(self, *args) -> bytes:
        return self.selector + abi_encode(self.input_types, _plain(list(args)))

    def calldata(self, *args) -> bytes:
        """`encode_input`, remembered: the fuzz suite reads the same views after every step."""
        key = _freeze(args)
        data = self._calldata.get(key)
        if data is None:
            data = self._calldata[key] = self.encode_input(*args)
        return data

    def decode_output(self, raw: bytes):
        """As ape returns it: one value unwrapped, a struct with field names, addresses checksummed."""
        values = _checksummed(self.decode_values(raw))
        if self._struct is not None:
            return self._struct(*values[0])
        return values[0] if len(values) == 1 else values

    def decode_values(self, raw: bytes) -> tuple:
        """The outputs as eth_abi decodes them; static words decoded directly (eth_abi takes
        most of a fuzz step's time otherwise)."""
        if self._static_words is None:
            return abi_decode(self.output_types, raw)
        return _decode_static(self._static_words, raw)

    def __call__(self, *args, sender=None):
        chain = self.contract.chain
        if self.is_view and sender is None:
            return self.decode_output(chain.call(self.contract.address, self.calldata(*args)))
        data = self.encode_input(*args)
        if sender is None:
            raise TypeError(f"{self.name} changes state: pass sender=")
        receipt = chain.transact(sender, self.contract.address, data)
        receipt.return_value = self.decode_output(receipt.output) if self.output_types else None
        return receipt

    def call(self, *args, sender=None):
        """Run without committing (a `view` of a state-changing function, as ape's `.call`)."""
        return self.decode_output(
            self.contract.chain.call(self.contract.address, self.encode_input(*args), sender, static=self.is_view)
        )


def _checksummed(values):
    if isinstance(values, tuple):
        return tuple(_checksummed(v) for v in values)
    if isinstance(values, str) and len(values) == 42 and values.startswith("0x"):
        return to_checksum_address(values)
    return values


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return _plain(value)


def _static_layout(types: list[str]):
    """For outputs made only of static words (uintN, intN, bool, address, and tuples of them), a
    nested list of word kinds; None where eth_abi must decode (arrays, bytes, strings)."""
    layout = []
    for t in types:
        if t.startswith("(") and t.endswith(")"):
            inner = _static_layout(_split_tuple(t[1:-1]))
            if inner is None:
                return None
            layout.append(inner)
        elif t.startswith("uint") or t == "bool":
            layout.append("bool" if t == "bool" else "uint")
        elif t.startswith("int") and "[" not in t:
            layout.append("int")
        elif t == "address":
            layout.append("address")
        else:
            return None
        if "[" in t:
            return None
    return layout


def _split_tuple(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [p for p in parts if p]


def _decode_static(layout: list, raw: bytes, offset: int = 0) -> tuple:
    out = []
    for kind in layout:
        if isinstance(kind, list):
            out.append(_decode_static(kind, raw, offset))
            offset += 32 * _width(kind)
            continue
        word = raw[offset : offset + 32]
        if len(word) != 32:
            raise ValueError("return data too short")
        value = int.from_bytes(word, "big", signed=(kind == "int"))
        if kind == "bool":
            value = bool(value)
        elif kind == "address":
            value = "0x" + word[12:].hex()  # lower case, as eth_abi decodes it
        out.append(value)
        offset += 32
    return tuple(out)


def _width(layout: list) -> int:
    return sum(_width(k) if isinstance(k, list) else 1 for k in layout)


def _struct_type(outputs: list):
    """A namedtuple for a single struct output (ape returns those with attribute access)."""
    if len(outputs) == 1 and outputs[0]["type"] == "tuple":
        return namedtuple(outputs[0].get("internalType", "Struct").split(".")[-1].replace("struct ", ""),
                          [c["name"] or f"field{i}" for i, c in enumerate(outputs[0]["components"])])
    return None


class Contract:
    """A deployed contract: `.address`, and one `Method` per ABI function."""

    def __init__(self, chain: InProcessChain, address: str, artifact: Artifact):
        self.chain, self.address, self.artifact = chain, to_checksum_address(address), artifact
        for item in artifact.abi:
            if item["type"] == "function":
                setattr(self, item["name"], Method(self, item))

    def __repr__(self) -> str:
        return f"<{self.artifact.name} {self.address}>"


@dataclass
class Receipt:
    block_number: int
    timestamp: int
    gas_used: int
    output: bytes
    logs: list
    return_value: object = None


@dataclass(frozen=True)
class Block:
    number: int
    timestamp: int


class _Blocks:
    def __init__(self, chain: InProcessChain):
        self._chain = chain

    @property
    def head(self) -> Block:
        return Block(self._chain.number, self._chain.timestamp)


@dataclass(frozen=True)
class Snapshot:
    checkpoint: object
    number: int
    timestamp: int


# ================================================================== the chain


class InProcessChain:
    """One revm instance with a head block; the subset of ape's `chain` the fuzz suite uses."""

    def __init__(self, artifacts: dict[str, Artifact], chain_id: int = ANVIL_CHAIN_ID, genesis_time: int = GENESIS_TIME):
        self.artifacts = artifacts
        self.chain_id = chain_id
        self.number, self.timestamp = 1, genesis_time
        self.pending_timestamp_override: int | None = None
        self.evm = EVM(env=Env(cfg=CfgEnv(chain_id=chain_id), block=self._block_env(1, genesis_time)), spec_id="CANCUN")
        self.blocks = _Blocks(self)
        self.calls = 0  # EVM message calls made (views and transactions), for benchmarks

    @classmethod
    def from_build(cls, root: Path = ROOT, **kw) -> InProcessChain:
        build = root / ".build"
        if not (build / "__local__.json").exists():
            raise SystemExit(f"no build at {build}: run `make compile` first")
        return cls(Artifact.load_all(build), **kw)

    # ------------------------------------------------------------ blocks

    @staticmethod
    def _block_env(number: int, timestamp: int) -> BlockEnv:
        return BlockEnv(number=number, timestamp=timestamp, basefee=0, gas_limit=TX_GAS * 10)

    @property
    def pending_timestamp(self) -> int:
        """The next block's timestamp: one second after the head unless set (as on Anvil)."""
        if self.pending_timestamp_override is not None:
            return self.pending_timestamp_override
        return self.timestamp + 1

    @pending_timestamp.setter
    def pending_timestamp(self, value: int) -> None:
        if value <= self.timestamp:
            raise ValueError(f"timestamp {value} is not after the head's {self.timestamp}")
        self.pending_timestamp_override = value

    def _enter(self, number: int, timestamp: int) -> None:
        self.evm.set_block_env(self._block_env(number, timestamp))

    def _advance(self, number: int, timestamp: int) -> None:
        self.number, self.timestamp = number, timestamp
        self.pending_timestamp_override = None

    def mine(self, blocks: int = 1, timestamp: int | None = None) -> None:
        """Mine `blocks` empty blocks; the first at `timestamp` if given."""
        for i in range(blocks):
            self._advance(self.number + 1, timestamp if (timestamp is not None and i == 0) else self.pending_timestamp)
        self._enter(self.number, self.timestamp)

    def snapshot(self) -> Snapshot:
        return Snapshot(self.evm.snapshot(), self.number, self.timestamp)

    def restore(self, snap: Snapshot) -> None:
        self.evm.revert(snap.checkpoint)
        self._advance(snap.number, snap.timestamp)
        self._enter(self.number, self.timestamp)

    # ------------------------------------------------------------ execution

    def call(self, to: str, data: bytes, sender=None, static: bool = True) -> bytes:
        """A read at the head block; nothing is kept. `static=False` runs a state-changing
        function and throws its changes away (ape's `.call()`)."""
        self.calls += 1
        caller = _plain(sender) if sender is not None else "0x0000000000000000000000000000000000000000"
        checkpoint = self.evm.snapshot()
        try:
            return bytes(self.evm.message_call(caller, to, data, gas=TX_GAS, is_static=static))
        except RuntimeError as err:
            raise Reverted(_revert_data(err)) from None
        finally:
            self.evm.revert(checkpoint)

    def transact(self, sender, to: str, data: bytes, number: int | None = None, timestamp: int | None = None) -> Receipt:
        """Mine one transaction in the next block (or at the given number and time). On a revert
        raise `Reverted`: the state and the head stay as they were."""
        number = self.number + 1 if number is None else number
        timestamp = self.pending_timestamp if timestamp is None else timestamp
        output = self._mine(number, timestamp, lambda: bytes(self.evm.message_call(_plain(sender), to, data, gas=TX_GAS)))
        result = self.evm.result
        return Receipt(number, timestamp, result.gas_used if result else 0, output, list(result.logs) if result else [])

    def deploy(self, name: str, *args, sender, bytecode: bytes | None = None) -> Contract:
        """Deploy artifact `name` with constructor `args`, in a block of its own."""
        artifact = self.artifacts[name]
        ctor = next((i for i in artifact.abi if i["type"] == "constructor"), {"inputs": []})
        types = [canonical_type(i) for i in ctor["inputs"]]
        code = (bytecode or artifact.bytecode) + abi_encode(types, _plain(list(args)))
        address = self._mine(self.number + 1, self.pending_timestamp, lambda: self.evm.deploy(_plain(sender), code, gas=TX_GAS))
        return Contract(self, address, artifact)

    def _mine(self, number: int, timestamp: int, execute):
        """Run `execute` in block `number` at `timestamp`; it becomes the head unless it reverts."""
        self.calls += 1
        self._enter(number, timestamp)
        try:
            out = execute()
        except RuntimeError as err:
            self._enter(self.number, self.timestamp)
            result = self.evm.result
            raise Reverted(_revert_data(err), result.gas_used if result else 0) from None
        self._advance(number, timestamp)
        return out

    def at(self, name: str, address: str) -> Contract:
        return Contract(self, address, self.artifacts[name])

    @cached_property
    def errors(self) -> ErrorDecoder:
        """Every custom error of the build, to decode `Reverted.data`."""
        return ErrorDecoder(a.abi for a in self.artifacts.values())


def _revert_data(err: RuntimeError) -> bytes:
    match = _REVERT_OUTPUT.search(str(err))
    if match is None:  # a halt (out of gas, invalid opcode): no data, the message says what
        raise RuntimeError(f"EVM halted: {err}") from None
    return bytes.fromhex(match.group(1))
