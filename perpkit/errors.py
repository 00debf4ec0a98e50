"""Turn a contract revert into one clear line: `OracleStale(updatedAt=1, heartbeat=3600, ...)`.

The decoder needs only ABIs (JSON lists), so it works without a chain and for any client
(ape, web3.py, raw RPC). Anvil reports a custom error as ``custom error 0x<selector>: <payload>``
with the payload as raw bytes; RPCs that follow geth return the data as hex instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from perpkit import units

_ANVIL_CUSTOM = re.compile(r"custom error (0x[0-9a-fA-F]{8}):\s?(.*)", re.DOTALL)
_HEX_DATA = re.compile(r"(0x[0-9a-fA-F]{8,})")


def canonical_type(inp: Mapping) -> str:
    """The canonical ABI type of a JSON ABI parameter: tuples spelled out, array suffixes kept."""
    typ = inp["type"]
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in inp["components"])
        return f"({inner}){typ[5:]}"
    return typ


@dataclass(frozen=True)
class Revert:
    """A decoded revert: `name` and named `args` of the error ("" / {} if unknown), and one line."""

    name: str
    args: Mapping = field(default_factory=dict)
    text: str = ""

    def __str__(self) -> str:
        return self.text or self.name or "reverted"

    def human(self, tokens: Mapping[str, tuple[str, int]] | None = None) -> str:
        """The same line with each argument in the unit it means (`MEANINGS`): USD values with 2
        decimals, base sizes signed, ratios in %, addresses short, and token amounts in the
        token's units with its symbol where `tokens` (checksummed address -> (symbol, decimals))
        knows the error's `token`."""
        if not self.args:
            return str(self)
        token = (tokens or {}).get(self.args.get("token", ""))
        parts = [f"{k}={_human(self.name, k, v, token)}" for k, v in self.args.items()]
        return f"{self.name}({', '.join(parts)})"


_ERROR_STRING, _PANIC = bytes.fromhex("08c379a0"), bytes.fromhex("4e487b71")


class ErrorDecoder:
    """Maps 4-byte selectors to the custom errors declared in a set of ABIs (JSON lists, or ape's
    ABI objects)."""

    def __init__(self, abis: Iterable[Iterable]):
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                item = item if isinstance(item, Mapping) else item.model_dump(by_alias=True)
                if item.get("type") != "error":
                    continue
                types = [canonical_type(i) for i in item.get("inputs", [])]
                names = [i.get("name", "") for i in item.get("inputs", [])]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self._errors[selector] = (item["name"], names, types)

    def parse(self, data: bytes | None) -> Revert:
        """The error in revert `data`: custom errors by name, `Error(string)` as "Error" and
        `Panic(uint256)` as "Panic"; addresses checksummed."""
        if not data or len(data) < 4:
            return Revert("", {}, "reverted without data")
        if data[:4] == _ERROR_STRING:
            message = abi_decode(["string"], data[4:])[0]
            return Revert("Error", {"message": message}, f"reverted: {message}")
        if data[:4] == _PANIC:
            code = abi_decode(["uint256"], data[4:])[0]
            return Revert("Panic", {"code": code}, f"panic 0x{code:02x}")
        known = self._errors.get(data[:4])
        if known is None:
            return Revert("", {}, f"unknown custom error 0x{data.hex()}")
        name, names, types = known
        try:
            values = abi_decode(types, data[4:])
        except Exception:  # noqa: BLE001 - a malformed payload still names the error
            return Revert(name, {}, f"{name}(<undecodable 0x{data[4:].hex()}>)")
        args = {n: (to_checksum_address(v) if t == "address" else v) for n, t, v in zip(names, types, values)}
        return Revert(name, args, f"{name}({', '.join(f'{k}={_fmt(v)}' for k, v in args.items())})")

    def decode(self, data: bytes | None) -> str:
        """`Name(arg=value, ...)` for revert `data`; the raw hex where the selector is unknown."""
        return self.parse(data).text

    def describe(self, exc: BaseException, human: bool = False, tokens: Mapping | None = None) -> str:
        """One line for any exception a contract call or transaction raised; with `human`, its
        arguments in the units they mean (`Revert.human`)."""
        data = revert_data(exc)
        if data is not None:
            revert = self.parse(data)
            return revert.human(tokens) if human else revert.text
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# What each custom-error argument means, by name; `(error, argument)` where one name means
# different things in different errors. Unlisted arguments (ids, nonces, timestamps, seconds,
# counts, hashes) print as they are.
_USD = {"available", "accountValue", "required", "maintenance", "amount"}
_PRICE = {"price", "index", "bid", "ask", "makerLimitPrice", "takerLimitPrice"}
_SIZE = {"size", "delta", "makerSize", "takerSize", "minPositionSize", "openInterest"}
_RATIO = {"priceBand", "initialMarginRatio", "fundingRateCap", "liquidationFee", "maxConfidence", "maxConfidenceBound"}
_BY_ERROR = {
    ("FillExceedsOrder", "amount"): "size", ("FillExceedsOrder", "remaining"): "size",
    ("InvalidLiquidationAmount", "amount"): "size", ("OpenInterestCapExceeded", "cap"): "size",
    ("InsufficientCollateral", "amount"): "token", ("InsufficientCollateral", "balance"): "token",
    ("CollateralCapExceeded", "total"): "token", ("CollateralCapExceeded", "cap"): "token",
}


def meaning(error: str, argument: str) -> str:
    """`usd`, `price`, `size`, `ratio`, `token` or `raw`: how `error`'s `argument` reads."""
    if (error, argument) in _BY_ERROR:
        return _BY_ERROR[(error, argument)]
    for kind, names in (("usd", _USD), ("price", _PRICE), ("size", _SIZE), ("ratio", _RATIO)):
        if argument in names:
            return kind
    return "raw"


def _human(error: str, argument: str, value, token: tuple[str, int] | None) -> str:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return units.short_address(value)
    if isinstance(value, bytes) and len(value) == 32 and value.rstrip(b"\0").isascii() and value[:1].isalpha():
        return value.rstrip(b"\0").decode()  # a bytes32 name such as ParamOutOfBounds' "takerFee"
    if isinstance(value, bool) or not isinstance(value, int):
        return _fmt(value)
    kind = meaning(error, argument)
    if kind in ("usd", "price"):
        return units.fmt_usd(value)
    if kind == "size":
        return units.fmt_size(value)
    if kind == "ratio":
        return units.fmt_ratio(value)
    if kind == "token" and token is not None:
        return units.fmt_token(value, token[1], token[0])
    return _fmt(value)


def _fmt(value) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def revert_data(exc: BaseException) -> bytes | None:
    """Revert data carried by an ape/web3 exception, or None."""
    candidates = []
    for attr in ("revert_message", "message", "data"):
        val = getattr(exc, attr, None)
        if val:
            candidates.append(val)
    base = getattr(exc, "base_err", None)
    if base is not None:
        candidates.extend(a for a in getattr(base, "args", ()) if a)
    candidates.extend(a for a in getattr(exc, "args", ()) if a)
    for cand in candidates:
        if isinstance(cand, (bytes, bytearray)):
            return bytes(cand)
        if isinstance(cand, dict) and isinstance(cand.get("data"), str):
            cand = cand["data"]
        if not isinstance(cand, str):
            continue
        if match := _ANVIL_CUSTOM.search(cand):
            payload = match.group(2)
            if re.fullmatch(r"(0x)?[0-9a-fA-F]*", payload) and len(payload) % 2 == 0 and payload:
                body = bytes.fromhex(payload.removeprefix("0x"))
            else:
                body = payload.encode("latin-1", errors="replace")
            return bytes.fromhex(match.group(1)[2:]) + body
        if match := _HEX_DATA.fullmatch(cand.strip()):
            body = match.group(1)[2:]
            # Revert data is a selector plus whole ABI words: an address or a hash is not.
            if len(body) % 2 == 0 and (len(body) // 2 - 4) % 32 == 0:
                return bytes.fromhex(body)
    return None
