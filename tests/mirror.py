"""A `Mirror`: one exchange and its reference model (`perpkit.model`) driven in lockstep, compared
to the wei after every step. Used by tests/unit/model and by the fuzz state machines.

Works on either chain: Anvil through ape, or the in-process EVM (`perpkit.evm.InProcessChain`).
Each action runs in the next block (`attempt`); a refusal must be the same custom error, with the
same arguments, as the model raises there, and an accepted action is applied to the model at
exactly that block, so both sides see the same time.

A market with a CollateralPool (an exchange with `.pool` and `.collaterals`, tests/fuzz/suites.py)
is mirrored with it: the pool's registry and balances, and the collateral feeds, whose state
(`CollateralFeed`, shared by the mirrors of markets that use the same oracles) gives the model the
price every collateral oracle answers at the block of each action (staleness included)."""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from eth_abi import decode as abi_decode

from perpkit import model as M
from perpkit.errors import ErrorDecoder
from perpkit.evm import InProcessChain, Reverted
from tests.conftest import FEED_DECIMALS, WAD


# ================================================================== the two chains


def build_error_table(project) -> ErrorDecoder:
    """The custom errors of every contract a call can reach, from ape's project."""
    contracts = (project.PerpMarket, project.PerpRouter, project.FundingRate, project.ChainlinkOracle,
                 project.CollateralPool)
    return ErrorDecoder(ct.contract_type.abi for ct in contracts)


def _norm(value):
    return value.lower() if isinstance(value, str) else value


def _lower(value):
    """Addresses lower-cased all the way down (ape checksums them, eth_abi does not)."""
    if isinstance(value, (list, tuple)):
        return tuple(_lower(v) for v in value)
    return _norm(value)


@dataclass
class CollateralFeed:
    """One collateral token with its feed and oracle on chain, and what the oracle answers
    (`model`); `outage` is how it was broken ("zero", "stale", "reverting") until mended."""

    symbol: str
    token: object
    feed: object
    oracle: object
    model: M.ChainlinkFeed
    good_answer: int  # the last positive answer, which a recovery posts again
    outage: str | None = None

    @property
    def key(self) -> str:
        """The token as the model has it."""
        return self.token.address.lower()

    @property
    def oracle_key(self) -> str:
        return self.oracle.address.lower()

    @classmethod
    def read(cls, c) -> "CollateralFeed":
        """From a deployed `CollateralToken` (tests/fuzz/suites.py)."""
        _, answer, _, updated_at, _ = c.feed.latestRoundData()
        model = M.ChainlinkFeed(answer, updated_at, c.oracle.heartbeat(), c.oracle.feedDecimals(), c.feed.reverting())
        return cls(c.symbol, c.token, c.feed, c.oracle, model, answer)


def collateral_feeds(ex) -> dict:
    """symbol -> `CollateralFeed` for the exchange's collateral tokens (empty without a pool)."""
    return {c.symbol: CollateralFeed.read(c) for c in getattr(ex, "collaterals", ())}


def decode_revert(data: bytes, decoder: ErrorDecoder) -> tuple:
    """(name, args) of the error in revert `data`, addresses lower-cased as the model has them."""
    error = decoder.parse(data)
    return error.name, tuple(_norm(v) for v in error.args.values())


def attempt(chain, contract, method: str, args: tuple, sender, number: int, now: int) -> bytes | None:
    """Mine `contract.method(*args)` from `sender` in block `number` at time `now` and return None;
    or, if it would revert there, return the revert data and change nothing.

    On Anvil a refusal is found with an `eth_call` at the next block (number and time overridden),
    since ape would not mine a failing transaction; in process the transaction simply runs."""
    data = bytes(getattr(contract, method).encode_input(*args))
    if isinstance(chain, InProcessChain):
        try:
            chain.transact(sender, contract.address, data, number, now)
        except Reverted as refusal:
            return refusal.data
        return None
    call = {"from": sender.address, "to": contract.address, "data": "0x" + data.hex()}
    response = chain.provider.web3.provider.make_request(
        "eth_call", [call, "latest", {}, {"number": hex(number), "time": hex(now)}]
    )
    if "error" in response:
        return bytes.fromhex(response["error"]["data"].removeprefix("0x"))
    chain.pending_timestamp = now
    receipt = getattr(contract, method)(*args, sender=sender)
    assert (receipt.timestamp, receipt.block_number) == (now, number)
    return None


# ================================================================== the mirror


@dataclass
class Mirror:
    """One exchange and its model, driven in lockstep."""

    ex: object
    chain: object
    table: ErrorDecoder
    watch: dict  # label -> account, compared after every step
    model: M.MarketState = field(init=False)
    index: int = field(init=False)
    feed_updated: int = field(init=False)
    outage: str | None = None  # "zero" or "stale" while the oracle is broken
    check_each_action: bool = True  # the fuzz machine compares once per step instead
    feeds: dict | None = None  # symbol -> CollateralFeed; pass one dict to mirrors sharing oracles
    arrays_due: bool = True  # compare the pool's array views next time (see `compare`)
    prefunded: bool = False  # the watched accounts hold and approved enough collateral tokens

    def __post_init__(self):
        ex = self.ex
        count, psum, bid, ask, last_accrual = ex.funding.premiumState(ex.market_id)
        assert (count, psum, bid, ask) == (0, 0, 0, 0)
        funding = M.FundingState(
            params=M.FundingParams.from_tuple(ex.funding.paramsOf(ex.market_id)),
            last_accrual=last_accrual,
            market_id=ex.market_id,
        )
        self.model = M.MarketState(
            params=M.MarketParams.from_tuple(ex.market.params()),
            funding=funding,
            collateral_scale=ex.market.collateralScale(),
            market_id=ex.market_id,
        )
        self.index = ex.oracle.price()
        self.feed_updated = self.chain.blocks.head.timestamp
        self.pool = getattr(ex, "pool", None)
        if self.feeds is None:
            self.feeds = collateral_feeds(ex)
        if self.pool is not None:
            self.model.settlement_token = ex.token.address.lower()
            self.model.pool = pool = M.CollateralPool()
            for token in self.pool.collateralTokens():
                oracle, params, scale, total = self.pool.collateralOf(token)
                assert total == 0, "the mirror starts from an empty pool"
                pool.tokens.append(token.lower())
                pool.collateral[token.lower()] = M.Collateral(oracle.lower(), *params, scale)
        self.check()

    def prices(self, now: int | None = None) -> dict:
        """oracle -> the WAD price it answers at block time `now` (the head's by default), for
        every collateral oracle; a failing one is left out."""
        now = self.chain.blocks.head.timestamp if now is None else now
        out = {}
        for f in self.feeds.values():
            price = f.model.price_at(now)
            if price is not None:
                out[f.oracle_key] = price
        return out

    # ------------------------------------------------------------ actions

    def units(self, usd) -> int:
        """USD (int or str) -> collateral token units."""
        return int(Decimal(str(usd)) * 10 ** self.ex.token.decimals())

    def fund(self, who, amount: int):
        """Mint and approve `amount` token units, then deposit them through the router."""
        self.ex.token.mint(who, amount, sender=who)
        self.ex.token.approve(self.ex.router, amount, sender=who)
        return self._act(
            self.ex.router,
            "deposit",
            (self.ex.market_id, amount),
            who,
            lambda now, block: self.model.deposit(who.address, amount),
        )

    def withdraw(self, who, amount: int):
        return self._act(
            self.ex.router,
            "withdraw",
            (self.ex.market_id, amount),
            who,
            lambda now, block: self.model.withdraw(who.address, amount, self.index, now, self.prices(now)),
        )

    def trade(self, maker, taker, size: int, price: int, maker_reduce_only=False, taker_reduce_only=False):
        """`maker` rests `size` at `price`, `taker` takes all of it: one fill through `settle`."""
        ex = self.ex
        mk = ex.order(maker, size, price, reduce_only=maker_reduce_only)
        tk = ex.order(taker, -size, price, reduce_only=taker_reduce_only)
        fill = ex.fill(mk, tk, abs(size), maker, taker)
        return self.settle_fill(fill, [self.model_trade(maker, taker, size, price, maker_reduce_only, taker_reduce_only)])

    @staticmethod
    def model_trade(maker, taker, size: int, price: int, maker_reduce_only=False, taker_reduce_only=False) -> M.Trade:
        """The model's view of a fill: the maker's signed size at the maker's price."""
        return M.Trade(maker.address, taker.address, size, price, maker_reduce_only, taker_reduce_only)

    def settle_fill(self, fill: tuple, trades: list):
        """`settle([fill])` by the matcher; `trades` is what the model executes."""
        return self._act(
            self.ex.router,
            "settle",
            ([fill],),
            self.ex.matcher,
            lambda now, block: self.model.execute_trades(trades, self.index, now, self.prices(now)),
        )

    def liquidate(self, liquidator, who, amount: int):
        return self._act(
            self.ex.market,
            "liquidate",
            (who, amount),
            liquidator,
            lambda now, block: self.model.liquidate(liquidator.address, who.address, amount, self.index, now,
                                                    self.prices(now)),
        )

    def liquidate_batch(self, liquidator, victims: list, amounts: list[int]):
        """`liquidateBatch(victims, amounts)`; a victim is an account or a bare address."""
        addresses = [getattr(v, "address", v) for v in victims]
        return self._act(
            self.ex.market,
            "liquidateBatch",
            (addresses, amounts),
            liquidator,
            lambda now, block: self.model.liquidate_batch(liquidator.address, addresses, amounts, self.index, now,
                                                          self.prices(now)),
        )

    # ------------------------------------------------------------ collateral actions

    def collateral_units(self, symbol: str, usd) -> int:
        """USD (int or str) -> units of collateral `symbol` at its feed's last good answer."""
        f = self.feeds[symbol]
        whole = Decimal(str(usd)) * 10**f.model.decimals / f.good_answer
        return int(whole * 10 ** f.token.decimals())

    def fund_collateral(self, who, symbol: str, amount: int):
        """Deposit `amount` units of `symbol` through the router (minted and approved if needed,
        unless `prefunded`)."""
        f = self.feeds[symbol]
        if not self.prefunded:
            if f.token.balanceOf(who) < amount:
                f.token.mint(who, amount, sender=who)
            if f.token.allowance(who, self.ex.router) < amount:
                f.token.approve(self.ex.router, 2**256 - 1, sender=who)
        self.arrays_due = True
        return self._act(
            self.ex.router,
            "depositCollateral",
            (self.ex.market_id, f.token, amount),
            who,
            lambda now, block: self.model.deposit_collateral(who.address, f.key, amount),
        )

    def withdraw_collateral(self, who, symbol: str, amount: int):
        f = self.feeds[symbol]
        self.arrays_due = True
        return self._act(
            self.ex.router,
            "withdrawCollateral",
            (self.ex.market_id, f.token, amount),
            who,
            lambda now, block: self.model.withdraw_collateral(who.address, f.key, amount, self.index, now,
                                                              self.prices(now)),
        )

    def liquidate_collateral(self, liquidator, who, max_repay: int):
        self.arrays_due = True
        return self._act(
            self.ex.market,
            "liquidateCollateral",
            (who, max_repay),
            liquidator,
            lambda now, block: self.model.liquidate_collateral(liquidator.address, who.address, max_repay, self.index,
                                                               now, self.prices(now)),
        )

    def set_collateral(self, symbol: str, params: tuple):
        """`router.setCollateral` of `symbol` with its own oracle and new `params` (owner)."""
        f = self.feeds[symbol]
        self.arrays_due = True
        return self._act(
            self.ex.router,
            "setCollateral",
            (self.ex.market_id, f.token, f.oracle, params),
            self.ex.owner,
            lambda now, block: self.model.set_collateral(f.key, f.oracle_key, M.CollateralParams.from_tuple(params),
                                                         f.token.decimals(), self.prices(now)),
        )

    def collateral_balance(self, who, symbol: str) -> int:
        return self.model.pool.balance_of(who.address, self.feeds[symbol].key) if self.model.pool else 0

    def set_collateral_price(self, symbol: str, usd):
        """Move `symbol`'s feed to `usd` exactly (a feed left reverting keeps reverting)."""
        f = self.feeds[symbol]
        self._post_answer(f, int(Decimal(str(usd)) * 10**f.model.decimals))
        if not f.model.reverting:
            f.outage = None
        self.check()

    def break_collateral_oracle(self, symbol: str, how: str):
        """`zero`: the feed answers 0; `stale`: its last round is older than the heartbeat;
        `reverting`: every read reverts. The oracle's `tryPrice` fails: that collateral counts 0."""
        f = self.feeds[symbol]
        owner = self.ex.owner
        if how == "zero":
            self._post_answer(f, 0)
        elif how == "stale":
            updated = self.chain.blocks.head.timestamp - f.model.heartbeat - 1  # stale even in the same second
            f.feed.updateRoundData(f.feed.latestRound() + 1, f.good_answer, updated, updated, sender=owner)
            f.model.answer, f.model.updated_at = f.good_answer, updated
        else:
            f.feed.setReverting(True, sender=owner)
            f.model.reverting = True
        f.outage = how
        self.arrays_due = True
        self.check()

    def mend_collateral_oracle(self, symbol: str):
        """The feed answers its last good price again, fresh, and stops reverting."""
        f = self.feeds[symbol]
        if f.model.reverting:
            f.feed.setReverting(False, sender=self.ex.owner)
            f.model.reverting = False
        self._post_answer(f, f.good_answer)
        f.outage = None
        self.check()

    def _post_answer(self, f: CollateralFeed, answer: int):
        self.arrays_due = True
        receipt = f.feed.updateAnswer(answer, sender=self.ex.owner)
        f.model.answer, f.model.updated_at = answer, receipt.timestamp
        if answer > 0:
            f.good_answer = answer

    def settle_funding(self, who, by):
        return self._act(
            self.ex.market,
            "settleFunding",
            (who,),
            by,
            lambda now, block: self.model.settle_funding(who.address, self.index, now),
        )

    def touch(self, accounts, by):
        """`touch(accounts)`: the keeper's sweep (any caller); `accounts` are ape accounts."""
        return self._act(
            self.ex.market,
            "touch",
            ([a.address for a in accounts],),
            by,
            lambda now, block: self.model.touch([a.address for a in accounts], self.index, now),
        )

    def record_quote(self, bid: int, ask: int):
        return self._act(
            self.ex.funding,
            "recordQuote",
            (self.ex.market_id, bid, ask),
            self.ex.matcher,
            lambda now, block: self.model.funding.record_quote(bid, ask, self.index, block),
        )

    def crank(self, by):
        return self._act(
            self.ex.funding,
            "crank",
            (self.ex.market_id,),
            by,
            lambda now, block: self.model.funding.crank(self.index, now),
        )

    def set_paused(self, paused: bool, by):
        return self._act(
            self.ex.router,
            "setPaused",
            (self.ex.market_id, paused),
            by,
            lambda now, block: setattr(self.model, "paused", paused),
        )

    def set_market_params(self, params: tuple):
        """New market parameters (owner); the caller picks them within bounds."""
        return self._act(
            self.ex.router,
            "setMarketParams",
            (self.ex.market_id, params),
            self.ex.owner,
            lambda now, block: setattr(self.model, "params", M.MarketParams.from_tuple(params)),
        )

    def set_funding_params(self, params: tuple):
        return self._act(
            self.ex.router,
            "setFundingParams",
            (self.ex.market_id, params),
            self.ex.owner,
            lambda now, block: setattr(self.model.funding, "params", M.FundingParams.from_tuple(params)),
        )

    def break_oracle(self, how: str):
        """`zero`: the feed answers 0; `stale`: time passes the oracle's heartbeat (the collateral
        feeds' too, as far as they are as old). Until `mend_oracle`, views that need the price
        revert, so the comparison waits (but for the pool's)."""
        self.outage = how
        self.arrays_due = True
        if how == "zero":
            self.ex.feed.updateAnswer(0, sender=self.ex.owner)
        else:
            heartbeat = self.ex.oracle.heartbeat()
            self.chain.mine(1, timestamp=max(self.feed_updated + heartbeat + 1, self.chain.blocks.head.timestamp + 1))

    def mend_oracle(self):
        """The feed answers the last good price again, fresh."""
        self.outage = None
        self.set_price(Decimal(self.index) / WAD)

    def set_price(self, usd):
        """Move the feed (8 decimals) to `usd` exactly; the oracle scales it to WAD."""
        answer = int(Decimal(str(usd)) * 10**FEED_DECIMALS)
        receipt = self.ex.feed.updateAnswer(answer, sender=self.ex.owner)
        self.index = answer * 10 ** (18 - FEED_DECIMALS)
        self.feed_updated = receipt.timestamp
        self.check()

    def wait(self, seconds: int):
        """Mine an empty block `seconds` later; keep the feed within its heartbeat."""
        self.chain.mine(1, timestamp=self.chain.blocks.head.timestamp + seconds)
        self.keep_feed_fresh()
        self.check()

    def keep_feed_fresh(self):
        """Re-post the price when the feed is older than 12 h (the oracle's heartbeat is a day);
        the same for the collateral feeds that are not broken on purpose."""
        head = self.chain.blocks.head.timestamp
        for f in self.feeds.values():
            if f.outage is None and head - f.model.updated_at > 12 * 3600:
                self._post_answer(f, f.good_answer)
        if head - self.feed_updated > 12 * 3600:
            self.set_price(Decimal(self.index) / WAD)

    def _act(self, contract, method, args, sender, apply):
        """Run the action in the next block; on a revert the model must raise the same error with
        the same arguments at that block, else the model applies it at that block."""
        head = self.chain.blocks.head
        now, number = head.timestamp + 1, head.number + 1
        refusal = attempt(self.chain, contract, method, args, sender, number, now)
        if refusal is not None:
            expected = decode_revert(refusal, self.table)
            if self.outage and expected[0].startswith("Oracle"):
                return expected  # the model has no oracle to fail; the contract changed nothing
            with pytest.raises(M.ModelRevert) as info:
                apply(now, number)
            assert (info.value.name, tuple(_norm(v) for v in info.value.args)) == expected
            self.check()
            return expected
        try:
            result = apply(now, number)
        except M.ModelRevert as refusal:
            raise AssertionError(f"the contract accepted {method} but the model refuses it: {refusal!r}") from None
        self.check()
        return result

    # ------------------------------------------------------------ comparison

    def check(self):
        """Compare after an action, unless the owner of the mirror compares once per step."""
        if self.check_each_action:
            self.compare()

    def compare(self, full: bool = False):
        """Everything while the market's oracle works; the pool alone (it needs no market price)
        while it does not.

        The pool's state (registry, totals, balances, values) changes only through a collateral
        action or feed, which set `arrays_due` (so must a jump in time that lets a feed go stale):
        all of it is compared then (and with `full`, or when each action is compared). Every
        account's value with its collateral (`accountValue`, `healthOf`) is compared every time,
        so a step without collateral costs no extra call."""
        arrays = full or self.check_each_action or self.arrays_due
        if not self.outage:
            assert self.chain_view(arrays=arrays) == self.model_view(arrays=arrays)
        elif self.pool is not None:
            assert self.chain_view(pool_only=True, arrays=arrays) == self.model_view(pool_only=True, arrays=arrays)
        self.arrays_due = False

    def chain_view(self, pool_only: bool = False, arrays: bool = True) -> dict:
        m, f, i = self.ex.market, self.ex.funding, self.ex.market_id
        people = [acct.address for acct in self.watch.values()]
        if pool_only:
            return self._read_pool(self._pool_calls(arrays))
        calls = {
            "vault": (m, "vault"),
            "capitalTotal": (m, "capitalTotal"),
            "insuranceFund": (m, "insuranceFund"),
            "pnlPosTotal": (m, "pnlPosTotal"),
            "openInterest": (m, "openInterest"),
            "haircut": (m, "haircut"),
            "coverage": (m, "coverage"),
            "pnlWarmingTotal": (m, "pnlWarmingTotal"),
            "badDebt": (m, "badDebt"),
            "balance": (self.ex.token, "balanceOf", m.address),
            "fundingIndex": (f, "fundingIndex", i),
            "fundingRate": (f, "fundingRate", i),
            "currentFundingRate": (f, "currentFundingRate", i),
            "lastCrank": (f, "lastCrank", i),
            "markPrice": (f, "markPrice", i),
            "premiumIndex": (f, "premiumIndex", i),
            "premiumState": (f, "premiumState", i),
            "healthOf": (m, "healthOf", people),
            "candidatesOf": (m, "candidatesOf", people),
        }
        for label, acct in self.watch.items():
            calls[f"{label}.account"] = (m, "accountOf", acct.address)
            calls[f"{label}.accountValue"] = (m, "accountValue", acct.address)
            calls[f"{label}.marginRequirements"] = (m, "marginRequirements", acct.address)
            calls[f"{label}.isLiquidatable"] = (m, "isLiquidatable", acct.address)
            calls[f"{label}.pnlWarmingOf"] = (m, "pnlWarmingOf", acct.address)
            calls[f"{label}.pnlMaturedOf"] = (m, "pnlMaturedOf", acct.address)
        pool_calls = self._pool_calls(arrays)
        calls.update(pool_calls)
        view = dict(zip(calls, read_batch(self.chain, list(calls.values()))))
        for key in pool_calls:
            view[key] = _lower(view[key])
        view["balance x scale"] = view.pop("balance") * self.model.collateral_scale
        return view

    def _read_pool(self, calls: dict) -> dict:
        return dict(zip(calls, _lower(read_batch(self.chain, list(calls.values())))))

    def _pool_calls(self, full: bool) -> dict:
        """With `full`, the pool's registry, its token balances and every watched account's
        collateral (`balancesOf`: each token's balance, value and whether it was priced; `valueOf`;
        the held tokens)."""
        if self.pool is None or not full:
            return {}
        p = self.pool
        calls = {f"{label}.valueOf": (p, "valueOf", acct.address) for label, acct in self.watch.items()}
        calls["market.collateralPool"] = (self.ex.market, "collateralPool")
        calls["pool.collateralTokens"] = (p, "collateralTokens")
        for symbol, f in self.feeds.items():
            calls[f"{symbol}.collateralOf"] = (p, "collateralOf", f.token.address)
            calls[f"{symbol}.balanceOf(pool)"] = (f.token, "balanceOf", p.address)
        for label, acct in self.watch.items():
            calls[f"{label}.balancesOf"] = (p, "balancesOf", acct.address)
            calls[f"{label}.heldMask"] = (p, "heldMask", acct.address)
        return calls

    def _pool_view(self, now: int, full: bool) -> dict:
        pool, prices = self.model.pool, self.prices(now)
        if pool is None or not full:
            return {}
        view = {f"{label}.valueOf": pool.value_of(acct.address, prices) for label, acct in self.watch.items()}
        view["market.collateralPool"] = self.pool.address.lower()
        view["pool.collateralTokens"] = tuple(pool.tokens)
        for symbol, f in self.feeds.items():
            view[f"{symbol}.collateralOf"] = pool.collateral_of(f.key)
            view[f"{symbol}.balanceOf(pool)"] = pool.collateral[f.key].total  # no phantom tokens either
        for label, acct in self.watch.items():
            view[f"{label}.balancesOf"] = pool.balances_of(acct.address, prices)
            view[f"{label}.heldMask"] = pool.held_mask(acct.address)
        return view

    def model_view(self, pool_only: bool = False, arrays: bool = True) -> dict:
        s, fs, idx = self.model, self.model.funding, self.index
        now = self.chain.blocks.head.timestamp
        if pool_only:
            return self._pool_view(now, arrays)
        prices = self.prices(now)
        people = [acct.address for acct in self.watch.values()]
        view = {
            "vault": s.vault,
            "capitalTotal": s.capital_total,
            "insuranceFund": s.insurance,
            "pnlPosTotal": s.pnl_pos_total,
            "openInterest": s.open_interest(),
            "haircut": s.haircut(),
            "coverage": s.coverage(),
            "pnlWarmingTotal": s.warming_total,
            "badDebt": s.bad_debt,
            "fundingIndex": fs.funding_index(idx, now),
            "fundingRate": fs.rate,
            "currentFundingRate": fs.current_funding_rate(idx),
            "lastCrank": fs.last_crank,
            "markPrice": fs.mark_price(idx),
            "premiumIndex": fs.premium_index(idx),
            "premiumState": (fs.count, fs.premium_sum, fs.last_bid, fs.last_ask, fs.last_accrual),
            "healthOf": tuple(tuple(column) for column in s.health_of(people, idx, now, prices)),
            "candidatesOf": tuple(tuple(column) for column in s.candidates_of(people, idx, now, prices)),
        }
        for label, acct in self.watch.items():
            view[f"{label}.account"] = s.account(acct.address).as_tuple()
            view[f"{label}.accountValue"] = s.account_value(acct.address, idx, now, prices=prices)
            view[f"{label}.marginRequirements"] = s.margin_requirements(acct.address, idx)
            view[f"{label}.isLiquidatable"] = s.is_liquidatable(acct.address, idx, now, prices)
            view[f"{label}.pnlWarmingOf"] = s.pnl_warming_of(acct.address, now)
            view[f"{label}.pnlMaturedOf"] = s.pnl_matured_of(acct.address, now)
        view.update(self._pool_view(now, arrays))
        view["balance x scale"] = s.vault  # invariant 1: no phantom tokens
        return view


def read_batch(chain, calls) -> list:
    """Many view calls at the head block (on Anvil in one JSON-RPC batch); ABI-decoded, a single
    output unwrapped."""
    if isinstance(chain, InProcessChain):
        out = []
        for contract, method, *args in calls:
            handler = getattr(contract, method)
            values = handler.decode_values(chain.call(contract.address, handler.calldata(*args)))
            out.append(values[0] if len(values) == 1 else tuple(values))
        return out
    abis, requests = [], []
    for contract, method, *args in calls:
        handler = getattr(contract, method)
        abis.append([o.canonical_type for o in handler.abis[0].outputs])
        requests.append({"to": contract.address, "data": handler.encode_input(*args)})
    w3 = chain.provider.web3
    with w3.batch_requests() as batch:
        for request in requests:
            batch.add(w3.eth.call(request))
        raw = batch.execute()
    return [_decode(types, bytes(data)) for types, data in zip(abis, raw)]


def _decode(types, raw: bytes):
    values = abi_decode(types, raw)
    return values[0] if len(values) == 1 else tuple(values)
