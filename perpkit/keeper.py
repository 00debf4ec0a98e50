"""The keeper: cranks funding when a market's interval has passed, finds unhealthy accounts from
the chain's events and liquidates them, sweeps (touches) every account with a loss so that the
losers' payments back the winners' profit before it matures (the sound haircut), buys the
collateral of accounts left in debt (multi-collateral markets), and (on local chains) can drive
the mock feeds. Liquidations go out in `liquidateBatch` transactions sized by a gas budget; what
another keeper (or the account) did first comes back as a skipped entry, never a failed batch.

Decisions are plain functions (`crank_due`, `plan_crank`, `liquidation_batches`,
`plan_debt_repayments`, `retry`)
that tests call
directly; `Keeper` wires them to ape contract objects. Nothing here holds state that the chain
cannot give back: a restarted keeper rescans events from the deployment block.
"""

from __future__ import annotations

import csv
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from perpkit.model import WAD

HEALTH_BATCH = 250  # accounts per candidatesOf eth_call
TOUCH_BATCH = 200  # accounts per touch transaction (~20k gas each: a few million gas a batch)
LIQUIDATION_GAS = 50_000  # one whole-position takeover in a liquidateBatch (measured 40,326, +skips)
LIQUIDATION_GAS_BUDGET = 8_000_000  # gas one liquidateBatch transaction may take: 160 accounts


# ====================================================================== decisions (pure)


def crank_due(last_crank: int, now: int, interval: int) -> bool:
    """A crank is due when `interval` seconds passed since the last one (or there was none)."""
    return last_crank == 0 or now - last_crank >= interval


@dataclass(frozen=True)
class Liquidation:
    account: str
    amount: int  # WAD base units, the whole position
    shortfall: int  # maintenance - value, WAD


def plan_liquidations(accounts: list[str], sizes: list[int], values: list[int], maintenance: list[int]) -> list[Liquidation]:
    """Accounts strictly below maintenance with a position, worst shortfall first."""
    plan = [
        Liquidation(a, abs(s), m - v)
        for a, s, v, m in zip(accounts, sizes, values, maintenance)
        if s != 0 and v < m
    ]
    return sorted(plan, key=lambda liq: -liq.shortfall)


def liquidation_batches(plan: list[Liquidation], gas_budget: int = LIQUIDATION_GAS_BUDGET,
                        per_liquidation: int = LIQUIDATION_GAS) -> list[list[Liquidation]]:
    """The plan (worst shortfall first) cut into `liquidateBatch` calls of at most `gas_budget`
    gas each, at `per_liquidation` gas per account (at least one account a batch)."""
    size = max(1, gas_budget // per_liquidation)
    return [plan[i : i + size] for i in range(0, len(plan), size)]


@dataclass(frozen=True)
class CrankPlan:
    """What one scan of a market found: whom to liquidate (worst shortfall first) and whom to touch
    (largest loss first)."""

    liquidations: list[Liquidation]
    sweep: list[str]


def plan_crank(accounts: list[str], sizes: list[int], values: list[int], maintenance: list[int],
               unsettled: list[int]) -> CrankPlan:
    """The crank candidates from `candidatesOf`: accounts below maintenance are liquidated; every
    other open account whose touch would realise a loss (unrealised at mark less pending funding
    below zero) is swept, largest loss first, so its payment is in the residual before any profit
    matures."""
    liquidations = plan_liquidations(accounts, sizes, values, maintenance)
    doomed = {liq.account for liq in liquidations}
    losers = sorted(
        ((u, a) for a, s, u in zip(accounts, sizes, unsettled) if s != 0 and u < 0 and a not in doomed),
    )
    return CrankPlan(liquidations, [a for _, a in losers])


@dataclass(frozen=True)
class DebtRepayment:
    account: str
    max_repay: int  # WAD of settlement-token debt the keeper repays from its capital


def plan_debt_repayments(accounts: list[str], sizes: list[int], values: list[int], maintenance: list[int],
                         pnls: list[int], capital: int) -> list[DebtRepayment]:
    """Accounts in debt (negative pnl) whose collateral may be bought (`liquidateCollateral`): flat
    ones, and ones with a position below maintenance. Largest debt first, each repaid up to what
    remains of the keeper's `capital` (the contract takes the payment from it)."""
    eligible = sorted(
        ((a, -p) for a, s, v, m, p in zip(accounts, sizes, values, maintenance, pnls) if p < 0 and (s == 0 or v < m)),
        key=lambda item: -item[1],
    )
    plan = []
    for account, debt in eligible:
        repay = min(debt, capital)
        if repay <= 0:
            break
        plan.append(DebtRepayment(account, repay))
        capital -= repay
    return plan


def is_transient(err: BaseException) -> bool:
    """RPC trouble worth retrying (timeouts, dropped connections), not a contract revert."""
    from ape.exceptions import ContractLogicError

    if isinstance(err, ContractLogicError):
        return False
    text = f"{type(err).__name__} {err}".lower()
    return isinstance(err, (ConnectionError, TimeoutError, OSError)) or any(
        word in text for word in ("timeout", "timed out", "connection", "429", "502", "503", "rpc")
    )


def retry(fn: Callable, *, attempts: int = 5, base_delay: float = 0.5, sleep=time.sleep, log=None):
    """Calls `fn`, retrying transient errors with exponential backoff; re-raises the rest."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - classified below
            if not is_transient(err) or attempt == attempts:
                raise
            delay = base_delay * 2 ** (attempt - 1)
            if log:
                log(f"rpc-retry attempt={attempt} delay={delay:.1f}s error={str(err).splitlines()[0][:120]}")
            sleep(delay)


# ====================================================================== price paths (local chains)


def csv_price_path(path: str | Path) -> Iterator[float]:
    """Prices from a CSV with a `price` or `close` column (e.g. data/btc-usd-1h-2024-08.csv)."""
    with Path(path).open() as f:
        for row in csv.DictReader(f):
            yield float(row.get("price") or row["close"])


def random_walk(start: float, seed: int, step_sigma: float = 0.01) -> Iterator[float]:
    """A seeded geometric random walk: reproducible price paths for tests and demos."""
    rng, price = random.Random(seed), start
    while True:
        price *= 1 + rng.gauss(0, step_sigma)
        yield max(price, start * 0.01)


# ====================================================================== chain side


@dataclass
class AccountTracker:
    """Accounts that ever deposited or traded in a market, from its events, scanned incrementally."""

    market: object
    from_block: int
    accounts: set = field(default_factory=set)

    def refresh(self, head: int) -> int:
        """Scans [from_block, head]; returns how many new accounts it found."""
        if head < self.from_block:
            return 0
        before = len(self.accounts)
        for event in ("Deposit", "PositionChanged"):
            for log in getattr(self.market, event).range(self.from_block, head + 1):
                self.accounts.add(log.account)
        self.from_block = head + 1
        return len(self.accounts) - before


@dataclass
class MarketHandle:
    name: str
    market_id: int
    market: object
    oracle: object
    feed: object | None = None  # a MockV3Aggregator on local chains, driven by a price path
    prices: Iterator[float] | None = None
    tracker: AccountTracker | None = None
    pool: object | None = None  # the market's CollateralPool, once it has one
    collateral_accounts: set = field(default_factory=set)  # who ever deposited collateral
    pool_from_block: int = 0


@dataclass
class Stats:
    ticks: int = 0
    cranks: int = 0
    liquidations: int = 0
    touched: int = 0
    debt_repayments: int = 0
    lost_races: int = 0
    skipped_stale: int = 0
    rpc_errors: int = 0
    gas_used: int = 0
    gas_by_kind: dict = field(default_factory=dict)  # "crank" / "liquidate" / "price" -> [gas, ...]

    def record(self, kind: str, gas: int) -> None:
        self.gas_used += gas
        self.gas_by_kind.setdefault(kind, []).append(gas)


QuoteSource = Callable[[int], "tuple[int | None, int | None]"]  # market id -> best (bid, ask) in WAD


def quote_due(best: tuple, last: tuple | None) -> bool:
    """A quote is recorded when the book has both sides and either changed since the last one."""
    bid, ask = best
    return bid is not None and ask is not None and 0 < bid <= ask and (bid, ask) != last


def book_quote_source(url: str) -> QuoteSource:
    """Best bid/ask from a matching engine's HTTP API (`GET /book/<id>`)."""
    from perpkit.engine.api import ApiClient

    client = ApiClient(url, timeout=5)

    def best(market_id: int):
        status, body = client.book(market_id, depth=1)
        if status != 200:
            return None, None
        bid, ask = body.get("bestBid"), body.get("bestAsk")
        return (int(bid) if bid is not None else None, int(ask) if ask is not None else None)

    return best


class Keeper:
    def __init__(self, chain, funding, markets: list[MarketHandle], sender, *, crank_interval: int = 3600,
                 log: Callable[[str], None] = print, decoder=None, retry_delay: float = 0.5,
                 quotes: QuoteSource | None = None, liquidation_gas_budget: int = LIQUIDATION_GAS_BUDGET):
        self.chain, self.funding, self.markets, self.sender = chain, funding, markets, sender
        self.liquidation_gas_budget = liquidation_gas_budget
        self.crank_interval, self.log, self.decoder = crank_interval, log, decoder
        self.retry_delay = retry_delay
        self.quotes = quotes
        self.last_quote: dict[int, tuple] = {}
        self.stats = Stats()

    # ------------------------------------------------------------------ one tick

    def tick(self) -> None:
        self.stats.ticks += 1
        for m in self.markets:
            try:
                self._tick_market(m)
            except Exception as err:  # noqa: BLE001 - one market's trouble never stops the others
                if not is_transient(err):
                    raise
                self.stats.rpc_errors += 1
                self.log(f"rpc-error market={m.name} error={str(err).splitlines()[0][:160]}")

    def _tick_market(self, m: MarketHandle) -> None:
        if m.prices is not None and m.feed is not None:
            self._move_price(m)
        ok, index = self._retry(lambda: m.oracle.tryPrice())
        if not ok:
            self.stats.skipped_stale += 1
            self.log(f"skip market={m.name} reason=oracle-unavailable")
            return
        now = self.chain.blocks.head.timestamp
        if self.quotes is not None:
            self._record_quote(m)
        if crank_due(self._retry(lambda: self.funding.lastCrank(m.market_id)), now, self.crank_interval):
            self._crank(m)
        plan = self.candidates(m)
        self._liquidate_unhealthy(m, plan.liquidations)
        self._sweep(m, plan.sweep)
        self._repay_debts(m)

    def _record_quote(self, m: MarketHandle) -> None:
        """As the sampler: the book's best bid and ask to FundingRate when they changed."""
        if self._retry(lambda: self.funding.sampler()) != self.sender.address:
            return
        best = self._retry(lambda: self.quotes(m.market_id))
        if not quote_due(best, self.last_quote.get(m.market_id)):
            return
        bid, ask = best
        if not self._would_succeed(
            lambda: self.funding.recordQuote.call(m.market_id, bid, ask, sender=self.sender), f"quote {m.name}"
        ):
            self.last_quote[m.market_id] = best  # e.g. QuoteUnchanged: do not retry the same pair
            return
        receipt = self._retry(lambda: self.funding.recordQuote(m.market_id, bid, ask, sender=self.sender))
        self.last_quote[m.market_id] = best
        self.stats.record("quote", receipt.gas_used)
        self.log(f"quote market={m.name} bid={bid / WAD:.2f} ask={ask / WAD:.2f} gas={receipt.gas_used}")

    def _move_price(self, m: MarketHandle) -> None:
        price = next(m.prices, None)
        if price is None:
            return
        answer = int(round(price * 10 ** m.feed.decimals()))
        receipt = self._retry(lambda: m.feed.updateAnswer(answer, sender=self.sender))
        self.log(f"price market={m.name} price={price:.2f} gas={receipt.gas_used}")

    def _crank(self, m: MarketHandle) -> None:
        if not self._would_succeed(lambda: self.funding.crank.call(m.market_id, sender=self.sender), f"crank {m.name}"):
            return
        receipt = self._retry(lambda: self.funding.crank(m.market_id, sender=self.sender))
        [event] = receipt.events.filter(self.funding.FundingCranked)
        self.stats.cranks += 1
        self.stats.record("crank", receipt.gas_used)
        self.log(
            f"crank market={m.name} rate={event.rate / WAD:.6%}/8h index={event.index / WAD:.2f} "
            f"mark={event.markPrice / WAD:.2f} gas={receipt.gas_used} tx={receipt.txn_hash}"
        )

    def candidates(self, m: MarketHandle) -> CrankPlan:
        """The crank candidates of a market: events for who, batched `candidatesOf` calls for how
        unhealthy and how much a touch would realise (the keeper's own account included in the
        sweep, never in its liquidations)."""
        head = self.chain.blocks.head.number
        self._retry(lambda: m.tracker.refresh(head))
        accounts = sorted(m.tracker.accounts)
        columns: list[list] = [[], [], [], []]
        for start in range(0, len(accounts), HEALTH_BATCH):
            chunk = accounts[start : start + HEALTH_BATCH]
            for column, values in zip(columns, self._retry(lambda c=chunk: m.market.candidatesOf(c))):
                column.extend(values)
        plan = plan_crank(accounts, *columns)
        mine = self.sender.address
        return CrankPlan([liq for liq in plan.liquidations if liq.account != mine], plan.sweep)

    def scan(self, m: MarketHandle) -> list[Liquidation]:
        """Unhealthy accounts of a market, worst shortfall first."""
        return self.candidates(m).liquidations

    def _sweep(self, m: MarketHandle, accounts: list[str]) -> None:
        """`touch` the losers in batches of TOUCH_BATCH: one line per batch."""
        for start in range(0, len(accounts), TOUCH_BATCH):
            batch = accounts[start : start + TOUCH_BATCH]
            if not self._would_succeed(lambda b=batch: m.market.touch.call(b, sender=self.sender), f"touch {m.name}"):
                return
            receipt = self._retry(lambda b=batch: m.market.touch(b, sender=self.sender))
            self.stats.touched += len(batch)
            self.stats.record("touch", receipt.gas_used)
            self.log(f"touch market={m.name} accounts={len(batch)} gas={receipt.gas_used} tx={receipt.txn_hash}")

    def _liquidate_unhealthy(self, m: MarketHandle, plan: list[Liquidation] | None = None) -> None:
        """`liquidateBatch` the plan's accounts (whole positions, worst first) in gas-budgeted
        batches: one line per liquidation, per skipped account (a lost race: someone was first, or
        the account recovered) and per batch."""
        plan = self.scan(m) if plan is None else plan
        for batch in liquidation_batches(plan, self.liquidation_gas_budget):
            accounts, amounts = [liq.account for liq in batch], [0] * len(batch)  # 0: the whole position
            try:  # eth_call first: what would revert, or liquidate nobody, is never sent
                would = self._retry(lambda: m.market.liquidateBatch.call(accounts, amounts, sender=self.sender))
            except Exception as err:  # noqa: BLE001
                if is_transient(err):
                    raise
                self.log(f"skip liquidateBatch {m.name} reason={self._describe(err)}")
                continue
            if would == 0:
                self.stats.lost_races += len(batch)
                self.log(f"skip liquidateBatch {m.name} accounts={len(batch)} reason=all-skipped "
                         "(liquidated by another keeper, or recovered)")
                continue
            receipt = self._retry(lambda: m.market.liquidateBatch(accounts, amounts, sender=self.sender))
            self.stats.record("liquidate", receipt.gas_used)
            shortfall = {liq.account: liq.shortfall for liq in batch}
            done = list(receipt.events.filter(m.market.Liquidation))
            skipped = list(receipt.events.filter(m.market.LiquidationSkipped))
            for event in done:
                self.stats.liquidations += 1
                self.log(
                    f"liquidate market={m.name} account={event.account} amount={event.amount / WAD} "
                    f"shortfall={shortfall.get(event.account, 0) / WAD:.2f} fee={event.fee / WAD:.2f} "
                    f"tx={receipt.txn_hash}"
                )
            for event in skipped:
                self.stats.lost_races += 1
                self.log(f"lost-race market={m.name} account={event.account} reason={self._reason(event.reason)}")
            self.log(
                f"liquidate-batch market={m.name} liquidated={len(done)} skipped={len(skipped)} "
                f"gas={receipt.gas_used} tx={receipt.txn_hash}"
            )

    def _reason(self, selector) -> str:
        """The error name of a `LiquidationSkipped` reason (its selector)."""
        selector = bytes(selector)
        name = self.decoder.parse(selector).name if self.decoder else ""
        return name or "0x" + selector.hex()

    def debts(self, m: MarketHandle) -> list[DebtRepayment]:
        """Accounts with collateral that are in debt and open to `liquidateCollateral`."""
        pool = self._pool(m)
        if pool is None:
            return []
        head = self.chain.blocks.head.number
        if head >= m.pool_from_block:
            logs = self._retry(lambda: list(pool.CollateralDeposited.range(m.pool_from_block, head + 1)))
            m.collateral_accounts.update(log.account for log in logs)
            m.pool_from_block = head + 1
        accounts = sorted(a for a in m.collateral_accounts - {self.sender.address} if pool.heldMask(a))
        if not accounts:
            return []
        sizes, values, maintenance = self._retry(lambda: m.market.healthOf(accounts))
        pnls = [self._retry(lambda a=a: m.market.pnlOf(a)) for a in accounts]
        capital = self._retry(lambda: m.market.capitalOf(self.sender))
        return plan_debt_repayments(accounts, list(sizes), list(values), list(maintenance), pnls, capital)

    def _pool(self, m: MarketHandle):
        if m.pool is None:
            address = self._retry(lambda: m.market.collateralPool())
            if int(address, 16) == 0:
                return None
            m.pool = self._contract_at("CollateralPool", address)
        return m.pool

    def _contract_at(self, name: str, address: str):
        from ape import project

        return getattr(project, name).at(address)

    def _repay_debts(self, m: MarketHandle) -> None:
        """Buys the collateral of accounts left in debt at the liquidation discount, repaying their
        debt from the keeper's capital (the debt otherwise holds the haircut below 1 for winners)."""
        for rep in self.debts(m):
            label = f"liquidate collateral {m.name} {rep.account}"
            call = m.market.liquidateCollateral
            if not self._would_succeed(lambda: call.call(rep.account, rep.max_repay, sender=self.sender), label):
                continue
            receipt = self._retry(lambda: call(rep.account, rep.max_repay, sender=self.sender))
            [event] = receipt.events.filter(m.market.DebtRepaid)
            self.stats.debt_repayments += 1
            self.stats.record("liquidate-collateral", receipt.gas_used)
            self.log(
                f"liquidate-collateral market={m.name} account={rep.account} repaid={event.repaid / WAD:.2f} "
                f"debt-left={-event.pnl / WAD:.2f} gas={receipt.gas_used} tx={receipt.txn_hash}"
            )

    # ------------------------------------------------------------------ plumbing

    def _would_succeed(self, call: Callable, label: str) -> bool:
        """eth_call first: a transaction that would revert is never sent."""
        try:
            self._retry(call)
            return True
        except Exception as err:  # noqa: BLE001
            if is_transient(err):
                raise
            self.stats.lost_races += 1 if label.startswith("liquidate ") else 0
            self.log(f"skip {label} reason={self._describe(err)}")
            return False

    def _describe(self, err: BaseException) -> str:
        return self.decoder.describe(err, human=True) if self.decoder else str(err).splitlines()[0]

    def _retry(self, fn):
        return retry(fn, base_delay=self.retry_delay, log=self.log)

    def summary(self) -> str:
        s = self.stats
        return (
            f"summary ticks={s.ticks} cranks={s.cranks} liquidations={s.liquidations} touched={s.touched} "
            f"debt-repayments={s.debt_repayments} "
            f"skipped={s.lost_races} stale-skips={s.skipped_stale} rpc-errors={s.rpc_errors} gas={s.gas_used}"
        )

    def run(self, ticks: int = 0, interval: float = 12.0, summary_every: int = 10,
            advance: Callable[[], None] | None = None, stop: Callable[[], bool] | None = None) -> Stats:
        """Ticks forever (ticks=0) or `ticks` times, `interval` seconds apart; `advance` (a local
        clock step) runs between ticks, never after the last, so the prices of the last tick are
        still fresh when the run ends."""
        done = 0
        while ticks == 0 or done < ticks:
            self.tick()
            done += 1
            if done % summary_every == 0:
                self.log(self.summary())
            if (stop and stop()) or done == ticks:
                break
            if advance:
                advance()
            elif interval:
                time.sleep(interval)
        self.log(self.summary())
        return self.stats


@dataclass
class MockPythFeed:
    """A local MockPyth price id driven like a MockV3Aggregator (the keeper's price paths): each
    answer is published now with 8 decimals and no confidence interval."""

    pyth: object
    price_id: bytes
    chain: object

    def decimals(self) -> int:
        return 8

    def updateAnswer(self, answer: int, sender):  # noqa: N802 - the MockV3Aggregator name it stands in for
        return self.pyth.setPrice(self.price_id, answer, 0, -8, self.chain.blocks.head.timestamp, sender=sender)


def _local_feed(project, entry: dict):
    """What moves a market's price on a local chain: its MockV3Aggregator, or its MockPyth id."""
    if entry.get("oracleType") == "pyth":
        from ape import chain

        return MockPythFeed(project.MockPyth.at(entry["pyth"]), bytes.fromhex(entry["priceId"][2:]), chain)
    return project.MockV3Aggregator.at(entry["feed"])


def handles_from_record(project, record: dict, from_block: int | None = None, local: bool = False,
                        price_paths: dict[str, Iterable[float]] | None = None) -> list[MarketHandle]:
    """Market handles for every market of a deployment record (DESIGN section 9)."""
    handles = []
    start = record.get("block", 0) if from_block is None else from_block
    for name, entry in sorted(record["markets"].items(), key=lambda kv: kv[1]["id"]):
        market = project.PerpMarket.at(entry["address"])
        feed = _local_feed(project, entry) if local else None
        prices = iter(price_paths[name]) if price_paths and name in price_paths else None
        oracle_type = project.PythOracle if entry.get("oracleType") == "pyth" else project.ChainlinkOracle
        handles.append(
            MarketHandle(name, entry["id"], market, oracle_type.at(entry["oracle"]), feed, prices,
                         AccountTracker(market, start))
        )
    return handles
