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


CAPITAL = {"type": "error", "name": "InsufficientCapital", "inputs": [
    {"name": "account", "type": "address"}, {"name": "amount", "type": "uint256"}, {"name": "available", "type": "uint256"}]}
COLLATERAL = {"type": "error", "name": "InsufficientCollateral", "inputs": [
    {"name": "account", "type": "address"}, {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"}, {"name": "balance", "type": "uint256"}]}
BOUNDS = {"type": "error", "name": "ParamOutOfBounds", "inputs": [
    {"name": "name", "type": "bytes32"}, {"name": "value", "type": "uint256"},
    {"name": "min", "type": "uint256"}, {"name": "max", "type": "uint256"}]}
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
WBTC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _data(error: dict, values: list) -> bytes:
    types = [i["type"] for i in error["inputs"]]
    return keccak(text=f"{error['name']}({','.join(types)})")[:4] + encode(types, values)


def test_human__usd_amounts_with_two_decimals_and_a_short_address():
    revert = ErrorDecoder([[CAPITAL]]).parse(_data(CAPITAL, [ALICE, 99_999_999 * 10**18, 9_500 * 10**18]))
    assert revert.human() == "InsufficientCapital(account=0x70997970…79C8, amount=99,999,999.00 USD, available=9,500.00 USD)"
    assert revert.text == f"InsufficientCapital(account={ALICE}, amount={99_999_999 * 10**18}, available={9_500 * 10**18})"


def test_human__token_amounts_in_the_tokens_units_with_its_symbol():
    revert = ErrorDecoder([[COLLATERAL]]).parse(_data(COLLATERAL, [ALICE, WBTC, 150_000_000, 25_000_000]))
    assert revert.human({WBTC: ("WBTC", 8)}) == (
        "InsufficientCollateral(account=0x70997970…79C8, token=0x5FbDB231…0aa3, amount=1.5 WBTC, balance=0.25 WBTC)")
    # a token the caller does not know keeps its raw amount rather than a guessed scale
    assert "amount=150000000," in revert.human({})


def test_human__bytes32_names_as_text_and_counts_raw():
    revert = ErrorDecoder([[BOUNDS]]).parse(_data(BOUNDS, [b"takerFee".ljust(32, b"\0"), 5, 0, 4]))
    assert revert.human() == "ParamOutOfBounds(name=takerFee, value=5, min=0, max=4)"


def test_describe__human_flag_selects_the_unit_form():
    class Err(Exception):
        data = "0x" + _data(CAPITAL, [ALICE, 10**18, 0]).hex()

    decoder = ErrorDecoder([[CAPITAL]])
    assert decoder.describe(Err(), human=True) == "InsufficientCapital(account=0x70997970…79C8, amount=1.00 USD, available=0.00 USD)"
    assert decoder.describe(Err()) == f"InsufficientCapital(account={ALICE}, amount={10**18}, available=0)"
