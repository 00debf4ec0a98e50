"""Strict revert assertions shared by every test folder.

`ape.reverts(error, **inputs)` alone lets a revert it could not decode pass and ignores a
misspelt input name; `reverts` below requires exactly `error` with every named input equal.
"""

from contextlib import contextmanager

import ape
from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractCustomError


def _decode_error(error, data: bytes) -> dict:
    """The inputs of custom error `error` from raw revert `data` (which must be that error)."""
    assert data[:4] == keccak(text=error.abi.selector)[:4], f"expected {error.__name__}, got 0x{data.hex()}"
    values = decode([i.canonical_type for i in error.abi.inputs], data[4:])
    return {
        i.name: to_checksum_address(v) if i.canonical_type == "address" else v
        for i, v in zip(error.abi.inputs, values)
    }


def _assert_inputs(actual: dict, expected: dict):
    assert set(expected) <= set(actual), (sorted(expected), sorted(actual))
    assert {k: actual[k] for k in expected} == expected


@contextmanager
def reverts(error, **inputs):
    """`ape.reverts(error, **inputs)`, made strict: the revert must be exactly `error` with every
    named input equal. (ape.reverts alone lets a revert it could not decode pass, and ignores a
    misspelt input name.)"""
    with ape.reverts(error, **inputs) as info:
        yield info
    if isinstance(info.value, error):
        actual = info.value.inputs
    else:
        message = info.value.revert_message
        assert message.startswith("0x"), f"expected {error.__name__}, got {info.value!r}"
        actual = _decode_error(error, bytes.fromhex(message[2:]))
    _assert_inputs(actual, inputs)


def assert_deploy_reverts(chain, container, args, sender, error, **inputs):
    """Deploying `container(*args)` from `sender` reverts with `error(**inputs)`. Checked through a
    plain eth_call of the creation code: ape's trace printer mislabels a reverted deployment whose
    address held another contract in an earlier (since reverted) snapshot, and crashes."""
    data = container.constructor.serialize_transaction(*args, sender=sender).data
    try:
        chain.provider.web3.eth.call({"from": sender.address, "data": "0x" + bytes(data).hex()})
    except ContractCustomError as err:
        _assert_inputs(_decode_error(error, bytes.fromhex(err.data[2:])), inputs)
    else:
        raise AssertionError("the deployment did not revert")
