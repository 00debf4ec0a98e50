"""Runs the simulation on a connected local chain (ape): deploy, fund agents, then hour by hour
move the feeds, let agents trade through the matching engine, publish quotes, crank and
liquidate; finally everyone flat withdraws and the report checks the invariants."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from perpkit.config import load
from perpkit.deploy import DeploymentRecord, Deployer
from perpkit.engine.book import TimeInForce
from perpkit.engine.chain import ApeChain
from perpkit.engine.engine import Engine, EngineConfig
from perpkit.errors import ErrorDecoder
from perpkit.invariants import Check, check_market
from perpkit.keeper import Keeper, handles_from_record
from perpkit.orders import Order, sign_order
from perpkit.simulation.agents import Intent, MarketMaker, make_takers
from perpkit.simulation.prices import Candle
from perpkit.simulation.report import HourRecord

WAD = 10**18
MARKETS = ("BTC-USD", "ETH-USD")


@dataclass
class SimConfig:
    candles: list[Candle]
    accounts: int = 50
    seed: int = 0
    out_dir: Path = Path("simulation-output")
    config_path: str = "markets.yaml"
    taker_deposit_usd: int = 20_000
    maker_deposit_usd: int = 2_000_000
    makers: int = 2


@dataclass
class Agent:
    account: object
    key: bytes
    role: str  # "maker" / "taker"
    brain: object
    nonce: int = 0
    resting: dict = field(default_factory=dict)  # market -> [order hash]


@dataclass
class SimResult:
    records: list[HourRecord]
    checks: list[Check]
    summary: list[str]
    liquidation_times: dict[str, list[int]]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


class Simulation:
    def __init__(self, project, chain, accounts, cfg: SimConfig, log: Callable[[str], None] = lambda _: None):
        # ape.accounts (scripts) has .test_accounts; the pytest fixture is the test accounts itself.
        self.test_accounts = getattr(accounts, "test_accounts", accounts)
        self.project, self.chain, self.cfg, self.log = project, chain, cfg, log
        self.rng = random.Random(cfg.seed)
        self.records: list[HourRecord] = []
        self.withdrawals: list[tuple[str, str, int, int]] = []  # market, account, amount wad, equity
        self.liquidation_times: dict[str, list[int]] = defaultdict(list)
        self.gas: dict[str, list[int]] = defaultdict(list)
        self.hour_fills: dict[str, int] = defaultdict(int)
        self.hour_volume: dict[str, float] = defaultdict(float)

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        self.deployer = self.test_accounts[0]
        self.keeper_account = self.test_accounts[1]
        record = DeploymentRecord.open(self.cfg.out_dir / "deployment", self.chain.chain_id, fresh=True)
        Deployer(self.project, self.chain, self.deployer, load(self.cfg.config_path), record, "local").run()
        self.record = record.data
        p = self.project
        self.router = p.PerpRouter.at(self.record["router"])
        self.funding = p.FundingRate.at(self.record["fundingRate"])
        self.markets = {n: p.PerpMarket.at(self.record["markets"][n]["address"]) for n in MARKETS}
        self.ids = {n: self.record["markets"][n]["id"] for n in MARKETS}
        self.feeds = {n: p.MockV3Aggregator.at(self.record["markets"][n]["feed"]) for n in MARKETS}
        self.tokens = {n: p.MockERC20.at(self.record["tokens"][self.record["markets"][n]["collateral"]]) for n in MARKETS}
        self.start_block = self.chain.blocks.head.number
        self.time0 = self.chain.blocks.head.timestamp + 60
        self.decoder = ErrorDecoder([e.model_dump() for e in ct.abi] for ct in p.contracts.values())
        self._make_agents()
        self._fund_agents()
        adapter = ApeChain(self.router, self.deployer, markets={self.ids[n]: self.markets[n] for n in MARKETS},
                           funding=self.funding)
        self.engine = Engine(adapter, self.ids.values(), EngineConfig(batch_size=100, batch_interval=0))
        handles = handles_from_record(p, self.record, from_block=self.start_block)
        self.keeper = Keeper(self.chain, self.funding, handles, self.keeper_account, crank_interval=3600,
                             log=self.log, decoder=self.decoder)

    def _make_agents(self) -> None:
        max_leverage = WAD / self.markets["BTC-USD"].params().initialMarginRatio
        takers = make_takers(self.cfg.accounts - self.cfg.makers, self.cfg.seed, max_leverage)
        self.agents: list[Agent] = []
        for i in range(self.cfg.accounts):
            account = self.test_accounts.generate_test_account()
            self.chain.provider.set_balance(account.address, 10**20)
            maker = i < self.cfg.makers
            brain = MarketMaker() if maker else takers[i - self.cfg.makers]
            self.agents.append(Agent(account, account.private_key, "maker" if maker else "taker", brain))

    def _fund_agents(self) -> None:
        for name in MARKETS:
            token, market_id = self.tokens[name], self.ids[name]
            unit = 10 ** token.decimals()
            total = self.cfg.maker_deposit_usd * (self.cfg.makers + 1) + self.cfg.taker_deposit_usd * self.cfg.accounts
            token.mint(self.deployer, total * unit, sender=self.deployer)
            token.approve(self.router, total * unit, sender=self.deployer)
            for agent in self.agents:
                usd = self.cfg.maker_deposit_usd if agent.role == "maker" else self.cfg.taker_deposit_usd
                self.gas["deposit"].append(
                    self.router.depositFor(market_id, agent.account, usd * unit, sender=self.deployer).gas_used
                )
            self.router.depositFor(market_id, self.keeper_account, self.cfg.maker_deposit_usd * unit, sender=self.deployer)

    # ------------------------------------------------------------------ the hours

    def run(self, progress: Callable[[int], None] = lambda _: None) -> SimResult:
        self.setup()
        for hour, candle in enumerate(self.cfg.candles):
            self.step(hour, candle)
            progress(hour)
        return self.finish()

    def chain_time(self, candle: Candle) -> int:
        return self.time0 + candle.time - self.cfg.candles[0].time

    def step(self, hour: int, candle: Candle) -> None:
        now = self.chain_time(candle)
        if now > self.chain.blocks.head.timestamp:
            self.chain.pending_timestamp = now
        prices = {"BTC-USD": candle.btc, "ETH-USD": candle.eth}
        for name in MARKETS:
            self.feeds[name].updateAnswer(int(round(prices[name] * 10**8)), sender=self.deployer)
        self.hour_fills.clear()
        self.hour_volume.clear()
        for name in MARKETS:
            self._trade(name, prices[name], now)
        self._flush()
        self.engine.publish_quotes()
        liquidations_before = self.keeper.stats.liquidations
        self.keeper.tick()
        if self.keeper.stats.liquidations > liquidations_before:
            self._note_liquidations(candle)
        self._flush()  # orders the keeper's liquidations made unfillable are bisected out
        for name in MARKETS:
            self._record(name, candle, prices[name])

    def _trade(self, name: str, index: float, now: int) -> None:
        market, market_id = self.markets[name], self.ids[name]
        # One batched view for every agent: size and account value (haircut and funding included).
        sizes, values, _ = market.healthOf([a.account.address for a in self.agents])
        for agent, size, value in zip(self.agents, sizes, values):
            equity = value / WAD
            if agent.role == "maker":
                for order_hash in agent.resting.get(name, []):
                    self.engine.cancel(order_hash)
                intents = agent.brain.quotes(index, size, equity)
                agent.resting[name] = [self._submit(agent, market_id, i, now) for i in intents]
            else:
                for intent in agent.brain.decide(index, size, equity):
                    self._submit(agent, market_id, intent, now)

    def _submit(self, agent: Agent, market_id: int, intent: Intent, now: int) -> bytes:
        agent.nonce += 1
        expiry = now + 3600 + 600
        order = Order(agent.account.address, market_id, intent.size, intent.price, agent.nonce, expiry, intent.reduce_only)
        signature = sign_order(order, agent.key, self.chain.chain_id, self.router.address)
        tif = TimeInForce.IOC if intent.kind == "ioc" else TimeInForce.GTC
        decision = self.engine.submit(order, signature, tif)
        return decision.hash

    def _flush(self) -> None:
        report = self.engine.flush()
        if report.receipts and report.settled:
            self.gas["settle, per fill"].append(report.gas_used // len(report.settled))
        for fill in report.settled:
            name = MARKETS[[self.ids[n] for n in MARKETS].index(fill.maker.market_id)]
            self.hour_fills[name] += 1
            self.hour_volume[name] += fill.amount / WAD * fill.maker.limit_price / WAD
        for dropped in report.dropped:
            self.log(f"dropped fill: {dropped.error}")

    def _note_liquidations(self, candle: Candle) -> None:
        head = self.chain.blocks.head.number
        for name in MARKETS:
            for log in self.markets[name].Liquidation.range(head - 20, head + 1):
                if candle.time not in self.liquidation_times[name]:
                    self.liquidation_times[name].append(candle.time)

    def _record(self, name: str, candle: Candle, index: float) -> None:
        market, market_id = self.markets[name], self.ids[name]
        longs, _ = market.openInterest()
        head = self.chain.blocks.head.number
        liqs = len(list(market.Liquidation.range(max(self.start_block, head - 30), head + 1)))
        self.records.append(HourRecord(
            time=candle.time, label=candle.label, market=name, index=index,
            mark=self.funding.markPrice(market_id) / WAD,
            funding_rate=self.funding.fundingRate(market_id) / WAD,
            open_interest=longs / WAD, insurance=market.insuranceFund() / WAD,
            haircut=market.haircut() / WAD, trades=self.hour_fills[name], volume=self.hour_volume[name],
            liquidations=liqs,
        ))

    # ------------------------------------------------------------------ the end

    def finish(self) -> SimResult:
        for name in MARKETS:
            self._withdraw_flat(name)
        return SimResult(self.records, self._checks(), self._summary(), dict(self.liquidation_times))

    def _pending_funding(self, name: str, addresses: list[str]) -> tuple[int, int]:
        """Funding not yet settled by open accounts, all at one block's index (views only):
        (sum of pending payments, number of open accounts). Rounds like a settlement (ceil)."""
        market, index = self.markets[name], self.funding.fundingIndex(self.ids[name])
        total = count = 0
        for address in addresses:
            size, _, snapshot = market.positionOf(address)
            if size:
                total += -((-size * (index - snapshot)) // 10**27)
                count += 1
        return total, count

    def _withdraw_flat(self, name: str) -> None:
        market, token, market_id = self.markets[name], self.tokens[name], self.ids[name]
        scale = market.collateralScale()
        for agent in self.agents:
            address = agent.account.address
            state = market.accountOf(address)
            if state.size != 0:
                continue
            equity = market.accountValue(address)
            amount = max(equity, 0) // scale
            if amount == 0:
                continue
            market_before = token.balanceOf(market)
            self.router.withdraw(market_id, amount, sender=agent.account)
            paid = (market_before - token.balanceOf(market)) * scale
            self.withdrawals.append((name, address, paid, equity))

    def _logs(self, name: str, event: str):
        head = self.chain.blocks.head.number
        return list(getattr(self.markets[name], event).range(self.start_block, head + 1))

    def _checks(self) -> list[Check]:
        checks = []
        everyone = [a.account.address for a in self.agents] + [self.keeper_account.address]
        for name in MARKETS:
            market, token = self.markets[name], self.tokens[name]
            for c in check_market(market, token, everyone):
                checks.append(Check(f"{name} {c.name}", c.ok, c.detail))
            payments = [log.payment for log in self._logs(name, "FundingSettled")]
            pending, open_accounts = self._pending_funding(name, everyone)
            total, bound = sum(payments) + pending, len(payments) + open_accounts
            checks.append(Check(
                f"{name} funding zero-sum (dust to the market)",
                0 <= total <= bound,
                f"{len(payments)} settled + {open_accounts} pending payments sum to {total} wei, within [0, {bound}]",
            ))
        over = [w for w in self.withdrawals if w[2] > w[3]]
        checks.append(Check(
            "no account withdrew more than its equity",
            not over,
            f"{len(self.withdrawals)} withdrawals, {len(over)} above equity",
        ))
        return checks

    def _summary(self) -> list[str]:
        lines = []
        for name in MARKETS:
            fills = self._logs(name, "PositionChanged")
            trades = sum(1 for r in self.records if r.market == name for _ in range(r.trades))
            volume = sum(r.volume for r in self.records if r.market == name)
            fees = sum(log.fee for log in fills) / WAD
            payments = [log.payment for log in self._logs(name, "FundingSettled")]
            paid = sum(p for p in payments if p > 0) / WAD
            received = -sum(p for p in payments if p < 0) / WAD
            liqs = self._logs(name, "Liquidation")
            notional = sum(log.amount * log.markPrice // WAD for log in liqs) / WAD
            bad = self._logs(name, "BadDebt")
            rows = [r for r in self.records if r.market == name]
            lines += [
                f"{name}: {trades} trades, volume {volume:,.0f} USD, fees {fees:,.2f} USD",
                f"{name}: funding paid {paid:,.2f} USD, received {received:,.2f} USD ({len(payments)} settlements)",
                f"{name}: {len(liqs)} liquidations, notional {notional:,.0f} USD, bad debt "
                f"{sum(b.debt for b in bad) / WAD:,.2f} USD ({sum(b.socialized for b in bad) / WAD:,.2f} socialised)",
                f"{name}: insurance fund {rows[0].insurance:,.2f} -> {rows[-1].insurance:,.2f} USD, "
                f"haircut lowest {min(r.haircut for r in rows):.4f}, last {rows[-1].haircut:.4f} "
                f"(realised profit waits, junior, until the matching losses are realised)",
            ]
        for kind, values in sorted({**self.gas, **self.keeper.stats.gas_by_kind}.items()):
            if values:
                lines.append(f"gas {kind}: mean {sum(values) // len(values):,} over {len(values)}")
        return lines
