"""The `perpkit` CLI as a subprocess against an Anvil of its own, deployed by `ape run deploy`.

A trade's life: markets, deposits, two signed orders (checked against the router's hashOrder and
ecrecover, then settled by the matcher), funding accrued over 8 hours, positions, funding, a
withdrawal; a WETH-margined long through a crash (the collateral list, a WETH deposit, the margin
view with its debt, the liquidation of the position, then of the collateral, a failed WETH oracle,
the WETH withdrawal); and every failure as one line on stderr with a non-zero exit.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from eth_account import Account

from perpkit.orders import Order, fill_tuple, sign_order
from tests.e2e._anvil import APE, PERPKIT, Chain, anvil, dev_address, dev_key, free_port, rpc, run

W = 10**18
ALICE, BOB, CAROL, ERIN, DAVE = (dev_address(i) for i in (1, 2, 3, 4, 5))  # TEST::1 to TEST::5
FRANK, GRACE, HEIDI = (dev_address(i) for i in (6, 7, 8))  # TEST::6 to TEST::8


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


def test_cli__a_weth_margined_long_through_a_crash__shows_its_margin_debt_and_liquidation(node):
    """First in the module: BTC-USD is never cranked before it, so no funding accrues and every
    figure is exact. Frank's margin is 4 WETH and no USDC; long 1 BTC at 60,000. BTC falls to 56,000 and WETH to
    1,500: the position is liquidated, the loss is a USDC debt backed by the WETH, and a liquidator
    buys the WETH at 5 % under the oracle to repay it."""
    url, chain, record, _ = node
    router = chain.contract("PerpRouter", record["router"])
    btc = record["markets"]["BTC-USD"]
    market = chain.contract("PerpMarket", btc["address"])
    pool = chain.contract("CollateralPool", btc["collateralPool"])
    weth = record["tokens"]["WETH"]
    btc_feed = chain.contract("MockV3Aggregator", btc["feed"])
    weth_feed = chain.contract("MockV3Aggregator", btc["collaterals"]["WETH"]["feed"])
    for feed, usd in ((btc_feed, 60_000), (weth_feed, 3_000)):  # fresh answers, whatever ran before
        chain.transact(feed.functions.updateAnswer(usd * 10**8))
    usdc = chain.contract("MockERC20", record["tokens"]["USDC"])
    for index in (7, 8):  # Grace makes the market, Heidi liquidates: 100,000 USDC each
        chain.transact(usdc.functions.approve(record["router"], 100_000 * 10**6), key=dev_key(index))
        chain.transact(router.functions.deposit(0, 100_000 * 10**6), key=dev_key(index))

    deposited = ok(node, "--account", "TEST::6", "deposit", "BTC-USD", "4", "WETH")
    assert deposited == (f"deposited 4 WETH into BTC-USD for {FRANK}; WETH held 4 WETH (counts for 9,600.00 USD), "
                         "account value now 9,600.00 USD\n")
    assert pool.functions.balanceOf(FRANK, weth).call() == 4 * W
    assert chain.contract("MockERC20", weth).functions.balanceOf(FRANK).call() == (1_000 - 4) * W

    # 1 BTC at 60,000 at 7x needs 8,571.43 + the fee: the CLI counts the WETH (9,600) as margin.
    listed, bid, ask = ok_together(
        node, ["collaterals"], ["--account", "TEST::6", "order", "BTC-USD", "1", "--price", "60000", "--leverage", "7"],
        ["--account", "TEST::7", "order", "BTC-USD", "-1", "--price", "60000", "--leverage", "5"])
    bid, ask = json.loads(bid), json.loads(ask)
    assert rows(listed) == {
        "BTC-USD USDC": ["settlement", "1.00", "1.00", "-", "-", "-"],
        "BTC-USD WETH": ["collateral", "3,000.00", "0.80", "5.00 %", "4 / 10,000 WETH", "active"],
        "BTC-USD FRAX": ["collateral", "1.00", "0.98", "2.00 %", "0 / 50,000,000 FRAX", "active"],
        "ETH-USD FRAX": ["settlement", "1.00", "1.00", "-", "-", "-"],
        "ETH-USD WBTC": ["collateral", "60,000.00", "0.85", "5.00 %", "0 / 500 WBTC", "active"],
    }
    fill = fill_tuple(_order(bid), bytes.fromhex(bid["signature"][2:]), _order(ask),
                      bytes.fromhex(ask["signature"][2:]), W)
    chain.transact(router.functions.settle([fill]))
    # No USDC to pay the 12 USD maker fee (0.02 % of 60,000): it is a debt the WETH backs.
    assert (market.functions.positionOf(FRANK).call()[0], market.functions.pnlOf(FRANK).call()) == (W, -12 * W)

    opened = ok(node, "margin", "BTC-USD", "--account", "TEST::6")
    assert rows(opened) == {
        "USDC capital": ["0 USDC", "1.00", "1.00", "0.00"],
        "WETH": ["4 WETH", "3,000.00", "0.80", "9,600.00"],
        "FRAX": ["0 FRAX", "1.00", "0.98", "0.00"],
        "debt": ["-12 USDC", "1.00", "1.00", "-12.00"],
        "PnL": ["", "", "", "+0.00"],
        "total margin value": ["", "", "", "9,588.00"],
    }
    assert opened.splitlines()[-2:] == [
        "debt 12.00 USDC: a loss beyond capital, backed by the collateral; a USDC deposit repays it, else a "
        "liquidator buys the collateral at a discount to repay it",
        "position +1: requires 6,000.00 USD initial, 3,000.00 USD maintenance: healthy",
    ]

    # The crash: BTC -6.7 %, WETH -50 %. Value 4 x 1,500 x 0.8 - 12 - 4,000 = 788 < maintenance 2,800.
    chain.transact(btc_feed.functions.updateAnswer(56_000 * 10**8))
    chain.transact(weth_feed.functions.updateAnswer(1_500 * 10**8))
    crashed = ok(node, "margin", "BTC-USD", "--account", "TEST::6")
    assert rows(crashed)["WETH"] == ["4 WETH", "1,500.00", "0.80", "4,800.00"]
    assert rows(crashed)["PnL"][3] == "-4,000.00"
    assert rows(crashed)["total margin value"][3] == "788.00"
    assert crashed.splitlines()[-1] == "position +1: requires 5,600.00 USD initial, 2,800.00 USD maintenance: LIQUIDATABLE"

    # Heidi takes the position over at 56,000. The liquidation fee is charged only as far as capital
    # and profit cover it: Frank has neither, so none. He is flat and owes 12 + 4,000 = 4,012 USDC:
    # no bad debt while his WETH backs it.
    chain.transact(market.functions.liquidate(FRANK, W), key=dev_key(8))
    assert (market.functions.positionOf(FRANK).call()[0], market.functions.pnlOf(FRANK).call()) == (0, -4_012 * W)
    owing, refused = ok(node, "margin", "--account", "TEST::6"), perpkit(
        node, "--account", "TEST::6", "withdraw", "BTC-USD", "1", "WETH")
    assert rows(owing) == {
        "USDC capital": ["0 USDC", "1.00", "1.00", "0.00"],
        "WETH": ["4 WETH", "1,500.00", "0.80", "4,800.00"],
        "FRAX": ["0 FRAX", "1.00", "0.98", "0.00"],
        "debt": ["-4,012 USDC", "1.00", "1.00", "-4,012.00"],
        "PnL": ["", "", "", "+0.00"],
        "total margin value": ["", "", "", "788.00"],
    }
    assert owing.splitlines()[-1].startswith("debt 4,012.00 USDC: a loss beyond capital")
    # 3 WETH left would count 3,600 < the debt: the withdrawal is refused with the value it would leave
    assert (refused.returncode, refused.stdout, refused.stderr.splitlines()) == (
        1, "", [f"Error: InsufficientMargin(account={FRANK[:10]}…{FRANK[-4:]}, accountValue=-412.00 USD, required=0.00 USD)"])

    # Heidi repays the whole debt from her capital and receives WETH at 1,500 x 0.95 = 1,425:
    # 4,012 / 1,425 = 2.815438596491228071 WETH (the last wei rounded up: no dust debt).
    chain.transact(market.functions.liquidateCollateral(FRANK, 10_000 * W), key=dev_key(8))
    seized = 2_815438596491228071
    assert (market.functions.pnlOf(FRANK).call(), pool.functions.balanceOf(HEIDI, weth).call()) == (0, seized)
    assert market.functions.capitalOf(HEIDI).call() == (100_000 - 4_012) * W  # no fee was charged: no reward
    left = 4 * W - seized
    repaid, seller = ok_together(node, ["margin", "BTC-USD", "--account", "TEST::6"],
                                 ["margin", "BTC-USD", "--account", "TEST::8"])
    assert rows(repaid)["WETH"] == ["1.184561403508771929 WETH", "1,500.00", "0.80", "1,421.47"]
    assert "debt" not in rows(repaid) and rows(repaid)["total margin value"][3] == "1,421.47"
    assert rows(seller)["WETH"] == ["2.815438596491228071 WETH", "1,500.00", "0.80", "3,378.53"]

    # WETH's oracle fails: the WETH counts 0, and says so; a flat account owing nothing still leaves.
    chain.transact(weth_feed.functions.setReverting(True))
    dark = ok(node, "margin", "BTC-USD", "--account", "TEST::6")
    assert rows(dark)["WETH"] == ["1.184561403508771929 WETH", "oracle down", "0.80", "0.00 (no price)"]
    assert dark.splitlines()[-1] == "no price for WETH: counts 0 until its oracle answers"
    out = ok(node, "--account", "TEST::6", "withdraw", "BTC-USD", "1.184561403508771929", "WETH")
    assert out == (f"withdrew 1.184561403508771929 WETH from BTC-USD for {FRANK}; WETH held 0 WETH "
                   "(oracle down: counts for 0), account value now 0.00 USD\n")
    assert chain.contract("MockERC20", weth).functions.balanceOf(FRANK).call() == (1_000 - 4) * W + left
    chain.transact(weth_feed.functions.setReverting(False))

    # Leave the market as the next test finds it: BTC at 60,000, no open interest (Heidi sells
    # the position she took over to Grace, closing both).
    chain.transact(btc_feed.functions.updateAnswer(60_000 * 10**8))
    expiry = int(rpc(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16) + 3600
    sell, buy = Order(HEIDI, 0, -W, 60_000 * W, 1, expiry, True), Order(GRACE, 0, W, 60_000 * W, 1, expiry, True)
    chain.transact(router.functions.settle([fill_tuple(
        sell, sign_order(sell, dev_key(8), 31337, record["router"]), buy, sign_order(buy, dev_key(7), 31337, record["router"]),
        W)]))
    assert market.functions.openInterest().call() == [0, 0]




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
                       f"Error: InsufficientCapital(account={CAROL[:10]}…{CAROL[-4:]}, amount=1.00 USD, available=0.00 USD)"),
    "margin-short": (["--account", "TEST::3", "order", "BTC-USD", "1", "--price", "60000", "--leverage", "5"],
                     "Error: margin too low: BTC-USD account value 0.00 USD cannot carry +1 at 60,000.00 at 5x "
                     "(needs 12,030.00 USD); deposit 12,030 USDC more"),
    "leverage-above-max": (["--account", "TEST::3", "order", "ETH-USD", "-1", "--price", "3000", "--leverage", "20"],
                           "Error: leverage 20x exceeds ETH-USD's maximum 10.0x"),
    "amount-negative": (["--account", "TEST::3", "deposit", "BTC-USD", "-5"], "Error: amount must be positive, got -5"),
    "amount-not-a-number": (["--account", "TEST::3", "withdraw", "BTC-USD", "lots"], "Error: amount 'lots' is not a number"),
    "size-before-missing-option": (["--account", "TEST::3", "order", "BTC-USD", "abc", "--price", "60000"],
                                   "Error: size 'abc' is not a number"),
    "price-negative": (["--account", "TEST::3", "order", "BTC-USD", "1", "--price", "-1", "--leverage", "2"],
                       "Error: price must be positive, got -1"),
    "amount-precision": (["--account", "TEST::3", "deposit", "BTC-USD", "0.0000001"],
                         "Error: amount 0.0000001 has more than 6 decimals"),
    "no-account": (["deposit", "BTC-USD", "1"], "Error: no account: pass --account ALIAS (an ape account alias or TEST::n)"),
    "collateral-not-accepted": (["--account", "TEST::3", "deposit", "BTC-USD", "1", "WBTC"],
                                "Error: BTC-USD does not accept WBTC as collateral (settlement token USDC; "
                                "other collateral: WETH, FRAX)"),
    "unknown-token": (["--account", "TEST::3", "deposit", "ETH-USD", "1", "DOGE"],
                      "Error: unknown token 'DOGE' on chain 31337 (tokens: USDC, FRAX, WETH, WBTC)"),
    "collateral-precision": (["--account", "TEST::3", "deposit", "ETH-USD", "0.000000001", "WBTC"],
                             "Error: amount 0.000000001 has more than 8 decimals"),
    "collateral-not-held": (["--account", "TEST::3", "withdraw", "BTC-USD", "1", "weth"],
                            f"Error: {CAROL} holds 0 WETH as collateral in BTC-USD, less than 1 WETH"),
    "collateral-more-than-owned": (["--account", "TEST::3", "deposit", "BTC-USD", "1000.5", "WETH"],
                                   f"Error: {CAROL} holds 1,000 WETH, less than 1,000.5 WETH"),
}


@pytest.fixture(scope="module")
def outcomes(node, tmp_path_factory):
    """The refused commands and the reads of an untouched account, run at once (none changes state)."""
    url = node[0]
    empty = tmp_path_factory.mktemp("no-deployments")
    down = f"http://127.0.0.1:{free_port()}"
    commands = {name: lambda args=args: perpkit(node, *args) for name, (args, _) in REFUSALS.items()}
    commands["nothing-held"] = lambda: perpkit(node, "positions", "--account", "TEST::5")
    commands["no-margin"] = lambda: perpkit(node, "margin", "--account", "TEST::5")
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


def test_cli_margin__an_account_without_any__says_so(outcomes):
    result = outcomes[0]["no-margin"]
    assert (result.returncode, result.stderr, result.stdout) == (0, "", f"{DAVE} has no margin on chain 31337\n")


@pytest.fixture
def order_inbox():
    """An HTTP endpoint on a free port that keeps what is POSTed to it and answers as the engine
    does for an order that rests unfilled; yields (url, received)."""
    received = []

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, self.headers["Content-Type"], body))
            answer = json.dumps({"accepted": True, "hash": "0x00", "resting": body["order"]["size"], "fills": []})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(answer.encode())

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


def test_cli_order__submit__posts_the_signed_order_to_the_engine_and_prints_its_answer(node, order_inbox):
    _, chain, record, _ = node
    url, received = order_inbox
    token = chain.contract("MockERC20", record["tokens"]["FRAX"])
    router = chain.contract("PerpRouter", record["router"])
    chain.transact(token.functions.approve(record["router"], 1_000 * W), key=dev_key(4))
    chain.transact(router.functions.deposit(1, 1_000 * W), key=dev_key(4))

    out = ok(node, "--account", "TEST::4", "order", "ETH-USD", "-1", "--price", "3100.5", "--leverage", "4",
             "--expiry", "600", "--submit", url)

    [(path, content_type, posted)] = received
    assert (path, content_type, posted["timeInForce"]) == ("/orders", "application/json", "GTC")
    order = _order(posted)
    assert (order.trader, order.market_id, order.size, order.limit_price, order.reduce_only) == (
        ERIN, 1, -W, 3_100_500000000000000000, False)
    digest = router.functions.hashOrder(order.as_tuple()).call()
    base = url.removesuffix("/orders")
    assert out == f"order 0x{digest.hex()} accepted by {base}: 0 fill(s), resting -1\n"
    assert Account._recover_hash(digest, signature=bytes.fromhex(posted["signature"][2:])) == ERIN
