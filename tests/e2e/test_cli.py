"""The `perpkit` CLI as a subprocess against an Anvil of its own, deployed by `ape run deploy`.

A trade's life: markets, deposits, two signed orders (checked against the router's hashOrder and
ecrecover, then settled by the matcher), funding accrued over 8 hours, positions, funding, a
withdrawal; and every failure as one line on stderr with a non-zero exit.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from eth_account import Account

from perpkit.orders import Order, fill_tuple
from tests.e2e._anvil import APE, PERPKIT, Chain, anvil, dev_address, dev_key, free_port, rpc, run

W = 10**18
ALICE, BOB, CAROL, ERIN, DAVE = (dev_address(i) for i in (1, 2, 3, 4, 5))  # TEST::1 to TEST::5


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """An Anvil on a free port with the suite deployed by `ape run deploy`; yields (url, chain, record, dir)."""
    deployments = tmp_path_factory.mktemp("deployments")
    with anvil() as url:
        result = run([APE, "run", "deploy", "--network", f"ethereum:local:{url}", "--deployments", deployments])
        assert result.returncode == 0, result.stderr
        record = json.loads((deployments / "31337.json").read_text())
        yield url, Chain(url), record, deployments


def perpkit(node, *args):
    url, _, _, deployments = node
    return run([PERPKIT, "--rpc", url, "--deployments", deployments, *args], timeout=120)


def ok(node, *args) -> str:
    result = perpkit(node, *args)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def ok_together(node, *commands) -> list[str]:
    """Independent commands (other accounts, or reads) at once: each CLI run is mostly ape's start-up."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: ok(node, *args), commands))


def rows(stdout: str) -> dict:
    """The body rows of a rich table, by first cell."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in stdout.splitlines() if "│" in line]
    return {row[0]: row[1:] for row in cells}


def _order(data: dict) -> Order:
    o = data["order"]
    return Order(o["trader"], o["marketId"], int(o["size"]), int(o["limitPrice"]), int(o["nonce"]), int(o["expiry"]),
                 o["reduceOnly"])


def test_cli__a_trade_from_deposit_to_withdrawal__shows_every_step(node):
    url, chain, record, _ = node
    router = chain.contract("PerpRouter", record["router"])
    btc = chain.contract("PerpMarket", record["markets"]["BTC-USD"]["address"])

    markets = rows(ok(node, "markets"))
    assert markets == {
        "BTC-USD": ["0", "USDC", "60,000.00", "60,000.00", "0.0000 / 0.0000 / 1,000", "10.0x", "5.00 %",
                    "0.020 % / 0.050 %", "active"],
        "ETH-USD": ["1", "FRAX", "3,000.00", "3,000.00", "0.0000 / 0.0000 / 20,000", "10.0x", "5.00 %",
                    "0.020 % / 0.050 %", "active"],
    }

    deposits = ok_together(node, ["--account", "TEST::1", "deposit", "BTC-USD", "10000"],
                           ["--account", "TEST::2", "deposit", "0", "10000"])
    assert deposits == [f"deposited 10,000 USDC into BTC-USD for {ALICE}; capital now 10,000.00 USD\n",
                        f"deposited 10,000 USDC into BTC-USD for {BOB}; capital now 10,000.00 USD\n"]
    assert btc.functions.capitalOf(ALICE).call() == 10_000 * W

    # Alice bids 0.5 BTC at 60,000 at 5x; Bob sells into it.
    bid, ask = map(json.loads, ok_together(
        node, ["--account", "TEST::1", "order", "BTC-USD", "0.5", "--price", "60000", "--leverage", "5"],
        ["--account", "TEST::2", "order", "BTC-USD", "-0.5", "--price", "60000", "--leverage", "5", "--expiry", "2h"]))
    maker, taker = _order(bid), _order(ask)
    assert (bid["chainId"], bid["router"], bid["market"]) == (31337, record["router"], "BTC-USD")
    assert (maker.trader, maker.market_id, maker.size, maker.limit_price, maker.reduce_only) == (
        ALICE, 0, W // 2, 60_000 * W, False)
    assert taker.expiry - int(rpc(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16) == 7200
    for data, order, trader in ((bid, maker, ALICE), (ask, taker, BOB)):
        digest = router.functions.hashOrder(order.as_tuple()).call()
        assert "0x" + digest.hex() == data["hash"]
        assert Account._recover_hash(digest, signature=bytes.fromhex(data["signature"][2:])) == trader

    fill = fill_tuple(maker, bytes.fromhex(bid["signature"][2:]), taker, bytes.fromhex(ask["signature"][2:]), W // 2)
    chain.transact(router.functions.settle([fill]))  # TEST::0 is the matcher
    assert btc.functions.positionOf(ALICE).call()[0] == W // 2

    # The crank fixes the rate at the interest rate (no premium samples); 8 hours accrue 0.01 % of
    # 60,000 = 6 USD per BTC: 3 USD on 0.5 BTC, paid by the long to the short.
    funding_rate = chain.contract("FundingRate", record["fundingRate"])
    crank = chain.transact(funding_rate.functions.crank(0))
    cranked_at = chain.w3.eth.get_block(crank.blockNumber).timestamp
    rpc(url, "evm_setNextBlockTimestamp", [cranked_at + 8 * 3600])
    feed = chain.contract("MockV3Aggregator", record["markets"]["BTC-USD"]["feed"])
    chain.transact(feed.functions.updateAnswer(60_000 * 10**8))

    held, short, funding = map(rows, ok_together(
        node, ["positions", "--account", "TEST::1"], ["positions", "--account", BOB], ["funding"]))
    assert held == {"BTC-USD": ["+0.5", "60,000.00", "60,000.00", "+0.00", "+0.0000 (+3.0000)", "9,994.00", "9,991.00",
                                "33.30 % (5.00 %)", "42,124.21"]}
    assert short == {"BTC-USD": ["-0.5", "60,000.00", "60,000.00", "+0.00", "+0.0000 (-3.0000)", "9,985.00", "9,988.00",
                                 "33.29 % (5.00 %)", "76,167.62"]}
    assert funding == {
        "BTC-USD": ["+0.0100 %", "+0.0100 %", "+0.0000 %", "+6.000000", "60,000.00", "60,000.00", "0"],
        "ETH-USD": ["+0.0000 %", "-", "-", "-", "-", "oracle down", "-"],  # its feed is 8 hours old
    }

    # Withdrawing one second later settles the funding first: 0.5 x 6 x 28,801 / 28,800 = 3.0001 paid,
    # capital 9,994 - 3.0001 - 1,000 = 8,990.9999.
    rpc(url, "evm_setNextBlockTimestamp", [cranked_at + 8 * 3600 + 1])
    assert ok(node, "--account", "TEST::1", "withdraw", "BTC-USD", "1000") == (
        f"withdrew 1,000 USDC from BTC-USD for {ALICE}; capital now 8,991.00 USD\n")
    token = chain.contract("MockERC20", record["tokens"]["USDC"])
    assert token.functions.balanceOf(ALICE).call() == (1_000_000 - 10_000 + 1_000) * 10**6
    assert btc.functions.capitalOf(ALICE).call() == 8_990_999895833333333333
    after = rows(ok(node, "--account", "TEST::1", "positions"))
    assert after["BTC-USD"][4:7] == ["+3.0001 (+0.0000)", "8,991.00", "8,991.00"]


REFUSALS = {
    "unknown-market": (["--account", "TEST::3", "deposit", "DOGE-USD", "1"],
                       "Error: unknown market 'DOGE-USD' on chain 31337 (markets: BTC-USD, ETH-USD)"),
    "revert-decoded": (["--account", "TEST::3", "withdraw", "BTC-USD", "1"],
                       f"Error: InsufficientCapital(account={CAROL}, amount={W}, available=0)"),
    "margin-short": (["--account", "TEST::3", "order", "BTC-USD", "1", "--price", "60000", "--leverage", "5"],
                     "Error: margin too low: BTC-USD account value 0.00 USD cannot carry +1 at 60,000.00 at 5x "
                     "(needs 12,030.00 USD); deposit 12,030 USDC more"),
    "leverage-above-max": (["--account", "TEST::3", "order", "ETH-USD", "-1", "--price", "3000", "--leverage", "20"],
                           "Error: leverage 20x exceeds ETH-USD's maximum 10.0x"),
    "amount-precision": (["--account", "TEST::3", "deposit", "BTC-USD", "0.0000001"],
                         "Error: amount 0.0000001 has more than 6 decimals"),
    "no-account": (["deposit", "BTC-USD", "1"], "Error: no account: pass --account ALIAS (an ape account alias or TEST::n)"),
}


@pytest.fixture(scope="module")
def outcomes(node, tmp_path_factory):
    """The refused commands and the reads of an untouched account, run at once (none changes state)."""
    url = node[0]
    empty = tmp_path_factory.mktemp("no-deployments")
    down = f"http://127.0.0.1:{free_port()}"
    commands = {name: lambda args=args: perpkit(node, *args) for name, (args, _) in REFUSALS.items()}
    commands["nothing-held"] = lambda: perpkit(node, "positions", "--account", "TEST::5")
    commands["no-record"] = lambda: run([PERPKIT, "--rpc", url, "--deployments", empty, "markets"])
    commands["rpc-down"] = lambda: run([PERPKIT, "--rpc", down, "funding"])
    with ThreadPoolExecutor(4) as pool:
        futures = {name: pool.submit(command) for name, command in commands.items()}
        results = {name: future.result() for name, future in futures.items()}
    return results, empty, down


@pytest.mark.parametrize("case", list(REFUSALS))
def test_cli__refused__one_line_on_stderr_and_exit_1(outcomes, case):
    result = outcomes[0][case]
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (1, "", [REFUSALS[case][1]])


def test_cli__no_deployment_record_for_the_chain__one_line(outcomes):
    results, empty, _ = outcomes
    result = results["no-record"]
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
        1, "", [f"Error: no deployment record for chain 31337: {empty}/31337.json not found (run `ape run deploy` there)"])


def test_cli__rpc_down__one_line(outcomes):
    results, _, down = outcomes
    result = results["rpc-down"]
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
        1, "", [f"Error: cannot reach RPC {down}: [Errno 111] Connection refused"])


def test_cli__positions_of_an_account_without_any__says_so(outcomes):
    result = outcomes[0]["nothing-held"]
    assert (result.returncode, result.stderr, result.stdout) == (
        0, "", f"{DAVE} has no positions or deposits on chain 31337\n")


@pytest.fixture
def order_inbox():
    """An HTTP endpoint on a free port that keeps what is POSTed to it; yields (url, received)."""
    received = []

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.headers["Content-Type"],
                             json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(202)
            self.end_headers()
            self.wfile.write(b"queued\n")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/orders", received
    finally:
        server.shutdown()
        server.server_close()


def test_cli_order__submit__posts_the_signed_order_as_json(node, order_inbox):
    _, chain, record, _ = node
    url, received = order_inbox
    token = chain.contract("MockERC20", record["tokens"]["FRAX"])
    router = chain.contract("PerpRouter", record["router"])
    chain.transact(token.functions.approve(record["router"], 1_000 * W), key=dev_key(4))
    chain.transact(router.functions.deposit(1, 1_000 * W), key=dev_key(4))

    out = ok(node, "--account", "TEST::4", "order", "ETH-USD", "-1", "--price", "3100.5", "--leverage", "4",
             "--expiry", "600", "--submit", url)

    [(path, content_type, posted)] = received
    assert (path, content_type) == ("/orders", "application/json")
    assert out == f"submitted order {posted['hash']} to {url}: HTTP 202 queued\n"
    order = _order(posted)
    assert (order.trader, order.market_id, order.size, order.limit_price, order.reduce_only) == (
        ERIN, 1, -W, 3_100_500000000000000000, False)
    digest = router.functions.hashOrder(order.as_tuple()).call()
    assert "0x" + digest.hex() == posted["hash"]
    assert Account._recover_hash(digest, signature=bytes.fromhex(posted["signature"][2:])) == ERIN
