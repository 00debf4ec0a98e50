"""Fixtures and moves of the adversarial tests (issue 18, item 3).

Each test is written from the attacker's side: what the attacker puts in (tokens deposited) and
takes out (tokens withdrawn), to the wei. `ex` is one 18-decimal deployment per module (every
amount exact in WAD); ape's isolation reverts each test's transactions, so every test starts from
the deployment with nobody funded.
"""

from decimal import Decimal

import pytest

from perpkit import model as M
from tests.conftest import WAD

BTC = 60_000 * WAD  # the index (and, with no quote recorded, the mark) of every market below
MAKER_FEE, TAKER_FEE = 2 * 10**14, 5 * 10**14  # the default market's fees
WARMUP = 3_600  # the default market's warmupPeriod


def usd(x) -> int:
    """USD (int or str for exactness) -> WAD."""
    return int(Decimal(str(x)) * WAD)


def fee(size, price, rate) -> int:
    """The contract's trading fee (perpkit.model's rounding: |size| x price up, then x rate up)."""
    return M.mul_wad_up(M.mul_wad_up(abs(size), price), rate)


@pytest.fixture(scope="session", autouse=True)
def _session_fixtures_first(owner, alice, bob, carol, dave, erin, keeper, matcher, guardian, make_exchange):
    """Every session fixture these tests use, set up before ape's first snapshot (a later one makes
    ape rebase the module fixtures)."""


@pytest.fixture(autouse=True)
def frozen_clock(chain):
    """Blocks keep the head's timestamp until a test moves time itself (`wait`, a pinned
    `pending_timestamp`): a wall-clock second that ticks between two of a test's transactions
    would otherwise vest 1/3,600 of fresh profit and change amounts asserted to the wei."""
    chain.provider.make_request("anvil_setBlockTimestampInterval", [0])
    yield
    chain.provider.make_request("anvil_removeBlockTimestampInterval", [])


@pytest.fixture(scope="module")
def ex(make_exchange):
    return make_exchange(decimals=18)


class Ledger:
    """Tokens an attacker put into and took out of one market (minted fresh, so the wallet's token
    balance is what it took out)."""

    def __init__(self, ex):
        self.ex = ex
        self.put_in = {}

    def deposit(self, account, amount):
        self.put_in[account.address] = self.put_in.get(account.address, 0) + amount
        return self.ex.fund(account, amount)

    def donate(self, account, to, amount, token=None):
        """`account` mints `amount` of `token` (default the settlement token) and transfers it
        straight to `to`, past every entry point."""
        token = token or self.ex.token
        if token == self.ex.token:
            self.put_in[account.address] = self.put_in.get(account.address, 0) + amount
        token.mint(account, amount, sender=account)
        token.transfer(to, amount, sender=account)

    def withdraw(self, account, amount):
        return self.ex.router.withdraw(self.ex.market_id, amount, sender=account)

    def withdraw_capital(self, account):
        """Everything a flat account without profit can take: its capital, in token units."""
        amount = self.ex.market.capitalOf(account) // self.ex.scale
        if amount:
            self.withdraw(account, amount)
        return amount

    def net(self, *accounts) -> int:
        """Taken out minus put in, over `accounts` (one attacker may hold several)."""
        return sum(self.ex.token.balanceOf(a) - self.put_in.get(a.address, 0) for a in accounts)


@pytest.fixture
def ledger(ex):
    return Ledger(ex)


def wait(chain, seconds):
    chain.mine(1, timestamp=chain.blocks.head.timestamp + seconds)


def trade_fees(receipt, market, account):
    """Every fee `account` paid in a receipt's fills (PositionChanged events)."""
    return sum(e.fee for e in receipt.events.filter(market.PositionChanged) if e.account == account.address)


def in_one_block(chain, *sends):
    """Mine the transactions that the callables `sends` submit in one block; returns their
    receipts. Each callable gets the pending transactions submitted before it (for a nonce) and
    must give an explicit gas limit: ape's default on a local chain is the block's."""
    chain.provider.auto_mine = False
    try:
        pending = []
        for send in sends:
            pending.append(send(pending))
        chain.mine(1)
    finally:
        chain.provider.auto_mine = True
    return [chain.provider.get_receipt(p.txn_hash) for p in pending]


def revert_data(chain, txn_hash) -> str:
    """The revert data of a mined, failed transaction, read back from its trace."""
    trace = chain.provider.make_request("debug_traceTransaction", [txn_hash, {"tracer": "callTracer"}])
    return trace["output"]


def available_at(ex, chain, account, seconds_later):
    """Pin the next block `seconds_later` after the head and return what a flat `account` can
    withdraw in it at h = 1: its capital plus the profit vested by then (linear, floored), as the
    market's `_realizeProfit` would convert it. Fresh profit vests from the block it was realised."""
    a = ex.market.accountOf(account)
    now = chain.blocks.head.timestamp + seconds_later
    chain.pending_timestamp = now
    return a.capital + M.vested(a.warming, a.warmStart, a.warmEnd, now) + (a.pnl - a.warming)
