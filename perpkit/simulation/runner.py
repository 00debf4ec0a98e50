"""Runs the simulation on a connected local chain (ape): deploy, fund agents, then hour by hour
move the feeds, let agents trade through the matching engine, publish quotes, crank and
liquidate; finally everyone flat withdraws and the report checks the invariants.

One agent is margined with WETH only (no settlement token) and long BTC-USD: the WETH feed
follows the ETH path, so the crash takes its position and its collateral down together. Its
position is liquidated like any other; the USDC debt left is repaid by selling its WETH to a
liquidator (`liquidateCollateral`), by the keeper, or else by the simulation's liquidator."""

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
from perpkit.invariants import Check, check_collateral, check_market
from perpkit.keeper import Keeper, handles_from_record
from perpkit.orders import Order, sign_order
from perpkit.simulation.agents import CollateralLong, Intent, MarketMaker, make_takers
from perpkit.simulation.prices import Candle
from perpkit.model import WAD, funding_payment, withdrawal_equity
from perpkit.simulation.report import HourRecord, haircut_check, liquidation_check

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
    # one more agent, margined with WETH only, long BTC-USD through the crash (0 WETH: none)
    eth_margined_weth: float = 10.0
    eth_margined_leverage: float = 6.0  # times its margin value (the WETH at its weight)


@dataclass
class Agent:
    account: object
    key: bytes
    role: str  # "maker" / "taker" / "eth-margined"
    brain: object
    nonce: int = 0
    resting: dict = field(default_factory=dict)  # market -> [order hash]
    markets: tuple = MARKETS  # where it trades


@dataclass
class SimResult:
    records: list[HourRecord]
    checks: list[Check]
    summary: list[str]
    liquidation_times: dict[str, list[int]]
    eth_margined: dict | None = None  # what happened to the WETH-margined account (see `_eth_margined_story`)

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
        self.hour_ends: list[tuple[int, Candle]] = []  # last block of each hour
        self.collateral_withdrawals: list[tuple[str, str, str, int]] = []  # market, account, token, units
        self.runner_repayments = 0  # liquidateCollateral calls the keeper left to the simulation

    # ------------------------------------------------------------------ set-up

    def setup(self) -> None:
        self.deployer = self.test_accounts[0]
        self.keeper_account = self.test_accounts[1]
        record = DeploymentRecord.open(self.cfg.out_dir / "deployment", self.chain.chain_id, fresh=True)
        # agents are funded from the deployer's own mints: the test accounts need no tokens
        Deployer(self.project, self.chain, self.deployer, load(self.cfg.config_path), record, "local",
                 log=self.log, fund_test_accounts=False).run()
        self.record = record.data
        p = self.project
        self.router = p.PerpRouter.at(self.record["router"])
        self.funding = p.FundingRate.at(self.record["fundingRate"])
        self.markets = {n: p.PerpMarket.at(self.record["markets"][n]["address"]) for n in MARKETS}
        self.ids = {n: self.record["markets"][n]["id"] for n in MARKETS}
        self.feeds = {n: p.MockV3Aggregator.at(self.record["markets"][n]["feed"]) for n in MARKETS}
        self.tokens = {n: p.MockERC20.at(self.record["tokens"][self.record["markets"][n]["collateral"]]) for n in MARKETS}
        self.pools = {n: p.CollateralPool.at(self.record["markets"][n]["collateralPool"]) for n in MARKETS
                      if self.record["markets"][n].get("collateralPool")}
        if self.cfg.eth_margined_weth > 0:
            weth = self.record["markets"]["BTC-USD"].get("collaterals", {}).get("WETH")
            if weth is None:
                raise ValueError(f"{self.cfg.config_path}: BTC-USD does not accept WETH, which the WETH-margined agent needs")
            self.weth = p.MockERC20.at(self.record["tokens"]["WETH"])
            self.weth_feed = p.MockV3Aggregator.at(weth["feed"])
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
        self.eth_agent = None
        if self.cfg.eth_margined_weth > 0:
            account = self.test_accounts.generate_test_account()
            self.chain.provider.set_balance(account.address, 10**20)
            self.eth_agent = Agent(account, account.private_key, "eth-margined",
                                   CollateralLong(self.cfg.eth_margined_leverage), markets=("BTC-USD",))
            # it trades right after the market makers: its opening order meets the full book
            self.agents.insert(self.cfg.makers, self.eth_agent)

    def _fund_agents(self) -> None:
        for name in MARKETS:
            token, market_id = self.tokens[name], self.ids[name]
            unit = 10 ** token.decimals()
            total = self.cfg.maker_deposit_usd * (self.cfg.makers + 1) + self.cfg.taker_deposit_usd * self.cfg.accounts
            token.mint(self.deployer, total * unit, sender=self.deployer)
            token.approve(self.router, total * unit, sender=self.deployer)
            for agent in self.agents:
                if agent.role == "eth-margined":
                    continue  # no settlement token: its margin is WETH
                usd = self.cfg.maker_deposit_usd if agent.role == "maker" else self.cfg.taker_deposit_usd
                self.gas["deposit"].append(
                    self.router.depositFor(market_id, agent.account, usd * unit, sender=self.deployer).gas_used
                )
            self.router.depositFor(market_id, self.keeper_account, self.cfg.maker_deposit_usd * unit, sender=self.deployer)
        if self.eth_agent is not None:
            amount = int(round(self.cfg.eth_margined_weth * 10**6)) * 10**12  # WETH has 18 decimals
            self.weth.mint(self.deployer, amount, sender=self.deployer)
            self.weth.approve(self.router, amount, sender=self.deployer)
            self.gas["deposit collateral"].append(self.router.depositCollateralFor(
                self.ids["BTC-USD"], self.eth_agent.account, self.weth, amount, sender=self.deployer).gas_used)
            self.eth_deposit = amount

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
        if self.eth_agent is not None:  # WETH's feed follows ETH (the only collateral token agents hold)
            self.weth_feed.updateAnswer(int(round(candle.eth * 10**8)), sender=self.deployer)
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
        self._repay_backed_debts()
        self._flush()  # orders the keeper's liquidations made unfillable are bisected out
        for name in MARKETS:
            self._record(name, candle, prices[name])
        self.hour_ends.append((self.chain.blocks.head.number, candle))

    def _repay_backed_debts(self) -> None:
        """Debt that an account's collateral backs and that the keeper's tick left (a keeper that
        does not call `liquidateCollateral`, or one that lost a race): the simulation's liquidator
        (the keeper account) buys the collateral to repay it, as the contract lets anyone. Only a
        flat account: a position below maintenance is the keeper's to liquidate first."""
        agent = self.eth_agent
        if agent is None:
            return
        market, address = self.markets["BTC-USD"], agent.account.address
        state = market.accountOf(address)  # one call an hour while nothing is owed
        if state.size != 0 or state.pnl >= 0 or not self.pools["BTC-USD"].holdsCollateral(address):
            return
        try:
            # up to all its capital: the market caps the repayment at the debt
            market.liquidateCollateral(address, market.capitalOf(self.keeper_account), sender=self.keeper_account)
            self.runner_repayments += 1
        except Exception as err:  # noqa: BLE001 - e.g. its collateral's oracle is down: tried again next hour
            self.log(f"liquidate collateral {address}: {self.decoder.describe(err)}")

    def _trade(self, name: str, index: float, now: int) -> None:
        market, market_id = self.markets[name], self.ids[name]
        # One batched view for every agent: size and account value (haircut, funding and other
        # collateral at its weight included).
        sizes, values, _ = market.healthOf([a.account.address for a in self.agents])
        for agent, size, value in zip(self.agents, sizes, values):
            if name not in agent.markets:
                continue
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
        first = self.hour_ends[-1][0] + 1 if self.hour_ends else self.start_block  # this hour's blocks
        liqs = len(list(market.Liquidation.range(first, head + 1)))
        self.records.append(HourRecord(
            time=candle.time, label=candle.label, market=name, index=index,
            mark=self.funding.markPrice(market_id) / WAD,
            funding_rate=self.funding.fundingRate(market_id) / WAD,
            open_interest=longs / WAD, insurance=market.insuranceFund() / WAD,
            haircut=market.haircut() / WAD, trades=self.hour_fills[name], volume=self.hour_volume[name],
            liquidations=liqs, bad_debt=market.badDebt() / WAD, pnl_warming=market.pnlWarmingTotal() / WAD,
            debt=self._debt(market) / WAD, unhealthy=self._unhealthy(market),
        ))

    def _unhealthy(self, market) -> int:
        """Open accounts (agents and keeper) below maintenance now, by `candidatesOf`."""
        everyone = [a.account.address for a in self.agents] + [self.keeper_account.address]
        sizes, values, maintenance, _ = market.candidatesOf(everyone)
        return sum(1 for s, v, m in zip(sizes, values, maintenance) if s != 0 and v < m)

    def _debt(self, market) -> int:
        """What the agents owe the market (their negative PnL), WAD."""
        return -sum(min(market.pnlOf(a.account), 0) for a in self.agents)

    # ------------------------------------------------------------------ the end

    def finish(self) -> SimResult:
        # the last hours' profit matures before everyone leaves (withdrawals pay matured PnL only)
        warmup = max(self.markets[name].warmupPeriod() for name in MARKETS)
        self.chain.mine(1, timestamp=self.chain.blocks.head.timestamp + warmup + 1)
        everyone = [a.account.address for a in self.agents] + [self.keeper_account.address]
        for name in MARKETS:  # the keeper's last touch: the matured profit counts in h
            feed = self.feeds[name]
            feed.updateAnswer(feed.latestRoundData()[1], sender=self.deployer)  # fresh after the wait
            self.markets[name].touch(everyone, sender=self.keeper_account)
        for name in MARKETS:
            self._withdraw_collateral(name)
            self._withdraw_flat(name)
        story = self._eth_margined_story()
        summary = self._summary() + (self._eth_margined_lines(story) if story else [])
        return SimResult(self.records, self._checks(), summary, dict(self.liquidation_times), story)

    def _withdraw_collateral(self, name: str) -> None:
        """Flat agents and the keeper take back every collateral token they hold (the keeper: what
        it bought from liquidated accounts) before the settlement-token withdrawals."""
        pool = self.pools.get(name)
        if pool is None:
            return
        market, market_id = self.markets[name], self.ids[name]
        for account in [a.account for a in self.agents] + [self.keeper_account]:
            if not pool.holdsCollateral(account.address):
                continue
            if market.positionOf(account.address)[0] != 0 and account != self.keeper_account:
                continue
            for token, balance in zip(*pool.balancesOf(account.address)[:2]):
                if balance == 0:
                    continue
                try:
                    self.router.withdrawCollateral(market_id, token, balance, sender=account)
                except Exception as err:  # noqa: BLE001 - e.g. still in debt: reported, not withdrawn
                    self.log(f"withdraw collateral {account.address}: {self.decoder.describe(err)}")
                    continue
                self.collateral_withdrawals.append((name, account.address, token, balance))

    def _pending_funding(self, name: str, addresses: list[str]) -> tuple[int, int]:
        """Funding not yet settled by open accounts, all at one block's index (views only):
        (sum of pending payments, number of open accounts). Rounds like a settlement (ceil)."""
        market, index = self.markets[name], self.funding.fundingIndex(self.ids[name])
        total = count = 0
        for address in addresses:
            size, _, snapshot = market.positionOf(address)
            if size:
                total += funding_payment(size, index - snapshot)
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
            equity = withdrawal_equity(state.capital, state.pnl, market.pnlWarmingOf(address), 0, market.haircut())
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
        checks.append(haircut_check(self.records))
        checks.append(liquidation_check(self.records))
        for name, pool in self.pools.items():
            symbols = {}
            tokens = []
            for address in pool.collateralTokens():
                token = self.project.MockERC20.at(address)
                symbols[address] = token.symbol()
                tokens.append(token)
            for c in check_collateral(self.markets[name], pool, tokens, everyone):
                label = c.name
                for address, symbol in symbols.items():
                    label = label.replace(address, symbol)
                checks.append(Check(f"{name} collateral {label}", c.ok, c.detail))
        over = [w for w in self.withdrawals if w[2] > w[3]]
        checks.append(Check(
            "no account withdrew more than its equity",
            not over,
            f"{len(self.withdrawals)} withdrawals, {len(over)} above equity",
        ))
        return checks

    def _hour_of(self, block: int) -> str:
        """The candle label of the hour in which `block` was mined."""
        for end, candle in self.hour_ends:
            if block <= end:
                return candle.label
        return "end"

    def _eth_margined_story(self) -> dict | None:
        """What happened to the WETH-margined account, from the chain's events: its deposit, its
        position, the liquidation of the position, then of its collateral, bad debt, what it kept."""
        agent = self.eth_agent
        if agent is None:
            return None
        address, market, pool = agent.account.address, self.markets["BTC-USD"], self.pools["BTC-USD"]
        head = self.chain.blocks.head.number
        mine = lambda logs: [log for log in logs if log.account == address]  # noqa: E731
        fills = mine(market.PositionChanged.range(self.start_block, head + 1))
        liquidations = mine(market.Liquidation.range(self.start_block, head + 1))
        repaid = mine(market.DebtRepaid.range(self.start_block, head + 1))
        seized = mine(pool.CollateralSeized.range(self.start_block, head + 1))
        bad = mine(market.BadDebt.range(self.start_block, head + 1))
        peak = max((f for f in fills if f.size != 0), key=lambda f: abs(f.size), default=None)  # its whole position
        price0 = self.cfg.candles[0].eth
        weight = pool.collateralOf(self.weth.address)[1][0]
        withdrawn = sum(units for name, who, token, units in self.collateral_withdrawals
                        if who == address and token == self.weth.address)
        # the debt when the position was gone: what was repaid, plus what is still owed or was written off
        debt = (repaid[0].repaid - repaid[0].pnl) if repaid else (-market.pnlOf(address) + sum(b.debt for b in bad))
        return {
            "account": address,
            "weth_deposited": self.eth_deposit,
            "weth_price_start": price0,
            "weight": weight,
            "margin_start": self.eth_deposit / WAD * price0 * weight / WAD,  # USD, at the first hour's price
            "size": peak.size if peak else 0,
            "entry": peak.openNotional * WAD // peak.size if peak else 0,  # average, WAD USD per BTC
            "fills": sum(1 for f in fills if f.size != 0 and (peak is None or f.block_number <= peak.block_number)),
            "liquidations": [dict(hour=self._hour_of(log.block_number), amount=log.amount, mark=log.markPrice,
                                  fee=log.fee, liquidator=log.liquidator) for log in liquidations],
            "debt": debt if (repaid or bad or market.pnlOf(address) < 0) else 0,
            "seizures": [dict(hour=self._hour_of(log.block_number), amount=log.amount, repaid=log.repaid,
                              price=log.price, liquidator=log.liquidator) for log in seized],
            "repaid": sum(log.repaid for log in repaid),
            "repayments_by_keeper": len(repaid) - self.runner_repayments,  # the keeper's tick; the rest the runner's
            "bad_debt": sum(b.debt for b in bad),
            "pnl_end": market.pnlOf(address),
            "weth_left": pool.balanceOf(address, self.weth.address) + withdrawn,
            "weth_withdrawn": withdrawn,
            "weth_price_end": self.cfg.candles[-1].eth,
        }

    def _eth_margined_lines(self, st: dict) -> list[str]:
        w = lambda units: f"{units / WAD:,.4f}"  # noqa: E731 - WETH, 18 decimals
        lines = [
            f"ETH-margined trader: {w(st['weth_deposited'])} WETH and no USDC, margin "
            f"{st['margin_start']:,.2f} USD (WETH {st['weth_price_start']:,.2f} at weight {st['weight'] / WAD:.2f}); "
            + (f"long {st['size'] / WAD:,.4f} BTC at {st['entry'] / WAD:,.2f} on average "
               f"({self.cfg.eth_margined_leverage:g}x, {st['fills']} fills)" if st["size"] else "never filled"),
        ]
        for liq in st["liquidations"]:
            lines.append(f"ETH-margined trader: {liq['hour']} position of {liq['amount'] / WAD:,.4f} BTC liquidated at "
                         f"mark {liq['mark'] / WAD:,.2f} (fee {liq['fee'] / WAD:,.2f}): debt {st['debt'] / WAD:,.2f} USDC "
                         f"backed by its WETH")
        buyer = "the keeper" if st["repayments_by_keeper"] else "the simulation's liquidator"
        for sz in st["seizures"]:
            lines.append(f"ETH-margined trader: {sz['hour']} {w(sz['amount'])} WETH sold to {buyer} at "
                         f"{sz['price'] / WAD:,.2f} less the discount, repaying {sz['repaid'] / WAD:,.2f} USD of debt")
        lines.append(
            f"ETH-margined trader: debt repaid {st['repaid'] / WAD:,.2f} USD, bad debt {st['bad_debt'] / WAD:,.2f} USD, "
            f"debt left {max(-st['pnl_end'], 0) / WAD:,.2f} USD; kept {w(st['weth_left'])} of {w(st['weth_deposited'])} "
            f"WETH ({w(st['weth_withdrawn'])} withdrawn, worth {st['weth_withdrawn'] / WAD * st['weth_price_end']:,.2f} USD "
            f"at the end)"
        )
        return lines

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
