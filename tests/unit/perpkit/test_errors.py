"""perpkit.errors: revert data to one line, without a chain."""

from eth_abi import encode
from eth_utils import keccak

from perpkit.errors import ErrorDecoder, revert_data

ABI = [
    {
        "type": "error",
        "name": "OracleStale",
        "inputs": [
            {"name": "updatedAt", "type": "uint256"},
            {"name": "heartbeat", "type": "uint256"},
            {"name": "blockTimestamp", "type": "uint256"},
        ],
    },
    {"type": "error", "name": "ZeroAddress", "inputs": []},
]
STALE = keccak(text="OracleStale(uint256,uint256,uint256)")[:4] + encode(["uint256"] * 3, [1, 3600, 3602])


def test_decode__custom_error_with_arguments():
    assert ErrorDecoder([ABI]).decode(STALE) == "OracleStale(updatedAt=1, heartbeat=3600, blockTimestamp=3602)"


def test_decode__unknown_selector__names_the_raw_data():
    assert ErrorDecoder([ABI]).decode(b"\x12\x34\x56\x78") == "unknown custom error 0x12345678"


def test_decode__error_string_and_panic():
    decoder = ErrorDecoder([])
    assert decoder.decode(bytes.fromhex("08c379a0") + encode(["string"], ["nope"])) == "reverted: nope"
    assert decoder.decode(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])) == "panic 0x11"


def test_revert_data__from_anvil_message_with_raw_payload():
    class Err(Exception):
        revert_message = f"custom error 0x{STALE[:4].hex()}: " + STALE[4:].decode("latin-1")

    assert revert_data(Err()) == STALE


def test_revert_data__from_hex_data():
    class Err(Exception):
        data = "0x" + STALE.hex()

    assert ErrorDecoder([ABI]).describe(Err()).startswith("OracleStale(updatedAt=1,")
