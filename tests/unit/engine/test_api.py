"""The HTTP API over an engine on the in-memory chain: request validation, status codes and the
JSON shapes the README documents. (tests/e2e/test_engine.py runs it against Anvil.)"""

import pytest
from perpkit.devkeys import dev_account

from perpkit.engine import Engine, sign_cancel
from perpkit.engine.api import ApiClient, order_from_json, order_to_json, serve
from perpkit.orders import Order, sign_order
from tests.unit.engine.fakes import ROUTER, WAD, FakeChain

ALICE = dev_account(11)
PRICE = 60_000 * WAD


@pytest.fixture
def api():
    engine = Engine(FakeChain(values={ALICE.address: 10**6 * WAD}), [0])
    server = serve(engine, port=0)
    yield ApiClient(server.url)
    server.stop()


def signed(size=WAD, price=PRICE, nonce=1):
    o = Order(ALICE.address, 0, size, price, nonce, 1_800_000_000, False)
    return o, sign_order(o, ALICE.key, 31337, ROUTER)


def test_order_json__round_trips_with_wad_strings():
    o, _ = signed(size=-3 * WAD)
    body = order_to_json(o)
    assert body["size"] == str(-3 * WAD) and body["limitPrice"] == str(PRICE)
    assert order_from_json(body) == o


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"size": 1.5}, "size must be an integer or a decimal string"),
        ({"reduceOnly": "yes"}, "reduceOnly must be true or false"),
        ({"trader": None}, "trader must be a 0x address"),
    ],
)
def test_order_from_json__bad_field__names_it(patch, message):
    body = {**order_to_json(signed()[0]), **patch}
    with pytest.raises(ValueError, match=message):
        order_from_json(body)


def test_post_order__accepted_then_listed_in_book_and_status(api):
    o, sig = signed(price=PRICE - WAD)
    status, body = api.submit(o, sig)
    assert (status, body["accepted"], body["resting"], body["fills"]) == (200, True, str(WAD), [])
    assert api.book(0)[1]["bids"] == [{"price": str(PRICE - WAD), "size": str(WAD), "orders": 1}]
    assert api.order(body["hash"]) == (200, {"hash": body["hash"], "status": "open", "remaining": str(WAD), "queued": "0"})


def test_post_order_without_signature__400(api):
    status, body = api._request("POST", "/orders", {"order": order_to_json(signed()[0])})
    assert (status, body["reason"]) == (400, "INVALID_ORDER")


def test_post_order_with_unknown_time_in_force__400(api):
    o, sig = signed()
    status, body = api.submit(o, sig, tif="FOK")
    assert (status, body["reason"]) == (400, "INVALID_ORDER")


def test_post_rejected_order__422_with_reason(api):
    o, sig = signed()
    api.submit(o, sig)
    status, body = api.submit(o, sig)
    assert (status, body["accepted"], body["reason"]) == (422, False, "DUPLICATE")


def test_delete_order__needs_the_traders_signature(api):
    o, sig = signed()
    h = api.submit(o, sig)[1]["hash"]
    assert api.cancel(h, sign_cancel(h, b"\x02" * 32)) == (403, {"cancelled": False, "reason": "BAD_SIGNATURE"})
    assert api.cancel(h, sign_cancel(h, ALICE.key)) == (200, {"cancelled": True, "hash": h})
    assert api.cancel(h, sign_cancel(h, ALICE.key)) == (404, {"cancelled": False, "reason": "UNKNOWN_ORDER"})


def test_get_book_of_unknown_market__404(api):
    assert api.book(7) == (404, {"error": "unknown market 7"})


def test_health__reports_chain_and_counts(api):
    assert api.health() == (
        200,
        {"status": "ok", "chainId": 31337, "router": ROUTER, "markets": [0], "orders": 0, "queuedFills": 0},
    )
