"""HTTP API of the matching engine, on 127.0.0.1 (standard library only: `http.server`, `json`;
one thread per request, every engine call under the engine's lock).

WAD amounts (sizes, prices) are decimal strings in every response: JSON numbers lose precision
past 2**53. Requests accept strings or integers. Hashes and signatures are 0x-hex.

POST /orders
    Submit a signed order.
    body  {"order": {"trader": "0x…", "marketId": 0, "size": "-1000000000000000000",
                     "limitPrice": "60000000000000000000000", "nonce": "7", "expiry": "1767225600",
                     "reduceOnly": false},
           "signature": "0x…65 bytes (EIP-712, domain PerpRouter/1, this chain and router)",
           "timeInForce": "GTC" | "IOC" | "POST_ONLY"}      (optional, default GTC;
                                                              IOC is a market order: the limit
                                                              is the worst price accepted)
    200   {"accepted": true, "hash": "0x…", "resting": "…",
           "fills": [{"maker": "0x…", "taker": "0x…", "amount": "…", "price": "…"}]}
    422   {"accepted": false, "hash": "0x…", "reason": "INSUFFICIENT_MARGIN", "detail": "…"}
          reasons: BAD_SIGNATURE, EXPIRED, CANCELLED_ONCHAIN, FILLED, INSUFFICIENT_MARGIN,
          SIZE_BELOW_MINIMUM, REDUCE_ONLY, POST_ONLY_WOULD_CROSS, DUPLICATE, UNKNOWN_MARKET,
          INVALID_ORDER, CHAIN_UNAVAILABLE
    400   {"accepted": false, "reason": "INVALID_ORDER", "detail": "…"}   malformed body

DELETE /orders/<hash>
    Take a resting order off the book. Off-chain only: the signed order stays valid on-chain
    until the trader calls `PerpRouter.cancelOrder` (or `cancelUpTo`).
    body  {"signature": "0x…"}   EIP-191 personal_sign of the text `perpkit: cancel 0x<hash>`
                                 by the trader or an operator it approved
    200   {"cancelled": true, "hash": "0x…"}
    403   {"cancelled": false, "reason": "BAD_SIGNATURE"}
    404   {"cancelled": false, "reason": "UNKNOWN_ORDER" | "FILLED"}

GET /orders/<hash>
    200   {"hash": "0x…", "status": "open" | "settling" | "<why it left>", "remaining": "…", "queued": "…"}
    404   {"error": "unknown order"}

GET /book/<marketId>?depth=20
    200   {"marketId": 0, "bestBid": "…" | null, "bestAsk": "…" | null,
           "bids": [{"price": "…", "size": "…", "orders": 3}, …],   best first
           "asks": [...]}
    404   {"error": "unknown market 7"}

GET /health
    200   {"status": "ok", "chainId": 31337, "router": "0x…", "markets": [0],
           "orders": 12, "queuedFills": 0}
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from perpkit.engine.book import Reason, TimeInForce
from perpkit.engine.engine import Engine
from perpkit.orders import Order

MAX_BODY = 64 * 1024


def order_to_json(order: Order) -> dict:
    return {
        "trader": order.trader,
        "marketId": order.market_id,
        "size": str(order.size),
        "limitPrice": str(order.limit_price),
        "nonce": str(order.nonce),
        "expiry": str(order.expiry),
        "reduceOnly": order.reduce_only,
    }


def _int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name} must be an integer or a decimal string")
    return int(value, 10) if isinstance(value, str) else value


def order_from_json(d: dict) -> Order:
    """The `Order` of a request body's "order" object; ValueError names the bad field."""
    if not isinstance(d, dict):
        raise ValueError("order must be an object")
    missing = [k for k in ("trader", "marketId", "size", "limitPrice", "nonce", "expiry") if k not in d]
    if missing:
        raise ValueError(f"order lacks {', '.join(missing)}")
    if not isinstance(d["trader"], str):
        raise ValueError("trader must be a 0x address")
    reduce_only = d.get("reduceOnly", False)
    if not isinstance(reduce_only, bool):
        raise ValueError("reduceOnly must be true or false")
    return Order(
        d["trader"],
        _int(d["marketId"], "marketId"),
        _int(d["size"], "size"),
        _int(d["limitPrice"], "limitPrice"),
        _int(d["nonce"], "nonce"),
        _int(d["expiry"], "expiry"),
        reduce_only,
    )


def _hex(value: str, name: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be 0x-hex")
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError as exc:
        raise ValueError(f"{name} must be 0x-hex") from exc


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the engine logs what matters
        pass

    # ------------------------------------------------------------------ plumbing

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(length) if length else b"{}"
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    def _route(self) -> tuple[list[str], dict]:
        url = urlparse(self.path)
        return [p for p in url.path.split("/") if p], parse_qs(url.query)

    # ------------------------------------------------------------------ endpoints

    def do_GET(self):
        parts, query = self._route()
        engine = self.server.engine
        if parts == ["health"]:
            return self._send(
                200,
                {
                    "status": "ok",
                    "chainId": engine.chain.chain_id,
                    "router": engine.chain.router_address,
                    "markets": sorted(engine.books),
                    "orders": sum(len(b) for b in engine.books.values()),
                    "queuedFills": len(engine.pending),
                },
            )
        if len(parts) == 2 and parts[0] == "book":
            return self._book(parts[1], query)
        if len(parts) == 2 and parts[0] == "orders":
            try:
                oid = _hex(parts[1], "hash")
            except ValueError as exc:
                return self._send(400, {"error": str(exc)})
            status = engine.status(oid)
            if status is None:
                return self._send(404, {"error": "unknown order"})
            return self._send(
                200,
                {"hash": "0x" + oid.hex(), "status": status["status"], "remaining": str(status["remaining"]), "queued": str(status["queued"])},
            )
        return self._send(404, {"error": f"no route GET {self.path}"})

    def _book(self, market: str, query: dict) -> None:
        engine = self.server.engine
        try:
            market_id = int(market)
            depth = int(query.get("depth", ["20"])[0])
        except ValueError:
            return self._send(400, {"error": "marketId and depth must be integers"})
        if market_id not in engine.books:
            return self._send(404, {"error": f"unknown market {market_id}"})
        levels = engine.depth(market_id, max(1, min(depth, 1000)))
        bid, ask = engine.quote(market_id)

        def side(rows):
            return [{"price": str(p), "size": str(v), "orders": n} for p, v, n in rows]

        return self._send(
            200,
            {
                "marketId": market_id,
                "bestBid": None if bid is None else str(bid),
                "bestAsk": None if ask is None else str(ask),
                "bids": side(levels["bids"]),
                "asks": side(levels["asks"]),
            },
        )

    def do_POST(self):
        parts, _ = self._route()
        if parts != ["orders"]:
            return self._send(404, {"error": f"no route POST {self.path}"})
        try:
            body = self._body()
            order = order_from_json(body.get("order"))
            signature = _hex(body.get("signature"), "signature")
            tif = TimeInForce(body.get("timeInForce", "GTC"))
        except (ValueError, json.JSONDecodeError) as exc:
            return self._send(400, {"accepted": False, "reason": Reason.INVALID_ORDER.value, "detail": str(exc)})
        d = self.server.engine.submit(order, signature, tif)
        h = "0x" + d.hash.hex() if d.hash else None
        if not d.accepted:
            return self._send(422, {"accepted": False, "hash": h, "reason": d.reason.value, "detail": d.detail})
        fills = [
            {"maker": "0x" + f.maker_id.hex(), "taker": "0x" + f.taker_id.hex(), "amount": str(f.amount), "price": str(f.price)}
            for f in d.fills
        ]
        return self._send(200, {"accepted": True, "hash": h, "resting": str(d.resting), "fills": fills})

    def do_DELETE(self):
        parts, _ = self._route()
        if len(parts) != 2 or parts[0] != "orders":
            return self._send(404, {"error": f"no route DELETE {self.path}"})
        try:
            oid = _hex(parts[1], "hash")
            signature = _hex(self._body().get("signature"), "signature")
        except (ValueError, json.JSONDecodeError) as exc:
            return self._send(400, {"cancelled": False, "reason": Reason.INVALID_ORDER.value, "detail": str(exc)})
        why = self.server.engine.cancel(oid, signature)
        if why is None:
            return self._send(200, {"cancelled": True, "hash": "0x" + oid.hex()})
        return self._send(403 if why is Reason.BAD_SIGNATURE else 404, {"cancelled": False, "reason": why.value})


class ApiServer(ThreadingHTTPServer):
    """The API over one engine; `start()` serves in a daemon thread, `stop()` ends it."""

    daemon_threads = True

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), _Handler)
        self.engine = engine
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ApiServer:
        # A short poll interval: `stop()` waits for the loop's next look at its shutdown flag.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="perpkit-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()


def serve(engine: Engine, host: str = "127.0.0.1", port: int = 0) -> ApiServer:
    """Starts the API on `host:port` (port 0: a free one, see `.url`) in a background thread."""
    return ApiServer(engine, host, port).start()


class ApiClient:
    """A minimal client (urllib) for the endpoints above: returns (HTTP status, JSON body)."""

    def __init__(self, url: str, timeout: float = 30):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def submit(self, order: Order, signature: bytes, tif: str = "GTC") -> tuple[int, dict]:
        return self._request("POST", "/orders", {"order": order_to_json(order), "signature": "0x" + signature.hex(), "timeInForce": tif})

    def cancel(self, order_hash: str, signature: bytes) -> tuple[int, dict]:
        return self._request("DELETE", f"/orders/{order_hash}", {"signature": "0x" + signature.hex()})

    def order(self, order_hash: str) -> tuple[int, dict]:
        return self._request("GET", f"/orders/{order_hash}")

    def book(self, market_id: int, depth: int = 20) -> tuple[int, dict]:
        return self._request("GET", f"/book/{market_id}?depth={depth}")

    def health(self) -> tuple[int, dict]:
        return self._request("GET", "/health")
