// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PerpRouter} from "perpkit/PerpRouter.sol";
import {PerpMarket} from "perpkit/PerpMarket.sol";
import {FundingRate} from "perpkit/FundingRate.sol";
import {MockERC20} from "perpkit/mocks/MockERC20.sol";
import {MockV3Aggregator} from "perpkit/mocks/MockV3Aggregator.sol";
import {Order, Fill} from "perpkit/libraries/Types.sol";

import {vm} from "./Vm.sol";

/// @notice The actions of tests/fuzz/test_exchange_machine.py as one forge invariant handler:
///         deposit, withdraw (a share or everything), trades (sized within margin, any size and
///         price, over-leveraged), price moves on the feed, sampler quotes, waits, cranks, funding
///         settlement and liquidations, by four traders. Orders are EIP-712 signed here with
///         vm.sign and settled by the matcher, as the Python side signs them off-chain.
///         Inputs are bounded (and maker != taker) so that most calls reach the contracts; a call
///         the contracts refuse reverts the handler call, and forge counts it under "reverts".
///         Every call runs in the next block, one second later (Anvil mines one block per
///         transaction); the handler keeps the clock itself and sets it with vm.warp / vm.roll.
contract Handler {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant MARKET_ID = 0;
    uint256 internal constant USD = 1e6; // token units (6 decimals)
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint256 marketId,int256 size,uint256 limitPrice,uint256 nonce,uint256 expiry,bool reduceOnly)"
    );

    PerpRouter public immutable router;
    PerpMarket public immutable market;
    FundingRate public immutable funding;
    MockERC20 public immutable token;
    MockV3Aggregator public immutable feed;
    address public immutable matcher;
    bytes32 public immutable domainSeparator;

    uint256[4] internal _keys; // alice, bob, carol, keeper
    address[4] internal _people;

    uint256 public nonce;
    uint256 public time;
    uint256 public blockNumber;
    uint256 public index; // WAD, the feed's price
    uint256 public feedUpdated;

    constructor(
        PerpRouter router_,
        PerpMarket market_,
        MockERC20 token_,
        MockV3Aggregator feed_,
        address matcher_,
        uint256[4] memory keys_,
        uint256[4] memory depositsUsd
    ) {
        router = router_;
        market = market_;
        funding = FundingRate(address(router_.fundingRate()));
        token = token_;
        feed = feed_;
        matcher = matcher_;
        domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("PerpRouter"),
                keccak256("1"),
                block.chainid,
                address(router_)
            )
        );
        for (uint256 i; i < 4; ++i) {
            _keys[i] = keys_[i];
            _people[i] = vm.addr(keys_[i]);
        }
        time = block.timestamp;
        blockNumber = block.number;
        index = uint256(feed_.latestAnswer()) * 1e10;
        feedUpdated = feed_.latestTimestamp();

        // As the Python machine's start: everyone deposits, then alice longs and bob shorts at 4x
        // half the smaller capital, so the market has open interest from the first call.
        for (uint256 i; i < 4; ++i) {
            _next(1);
            _fund(_people[i], depositsUsd[i] * USD);
        }
        _next(1);
        _tradeWithinMargin(0, 1, 4, true, 0);
    }

    // ================================================================== actions

    function deposit(uint256 whoSeed, uint256 usd) external {
        _next(1);
        _fund(_person(whoSeed), _bound(usd, 100, 60_000) * USD);
    }

    function withdraw(uint256 whoSeed, uint256 shareSeed) external {
        _next(1);
        address who = _person(whoSeed);
        uint256 share = [uint256(1), 10, 50, 100][shareSeed % 4];
        uint256 amount = market.capitalOf(who) * share / 100 / market.collateralScale();
        vm.prank(who);
        router.withdraw(MARKET_ID, amount);
    }

    /// All of the capital: refused with an open position (initial margin), allowed flat.
    function withdrawEverything(uint256 whoSeed) external {
        _next(1);
        address who = _person(whoSeed);
        uint256 amount = market.capitalOf(who) / market.collateralScale();
        vm.prank(who);
        router.withdraw(MARKET_ID, amount);
    }

    /// Sized from the smaller capital of the two at 1x-9x: mostly accepted, so positions exist.
    function tradeWithinMargin(uint256 makerSeed, uint256 takerSeed, uint256 leverage, bool buy, int256 offsetBp)
        external
    {
        _next(1);
        (uint256 maker, uint256 taker) = _pair(makerSeed, takerSeed);
        _tradeWithinMargin(maker, taker, _bound(leverage, 1, 9), buy, _boundInt(offsetBp, -100, 100));
    }

    function tradeAny(
        uint256 makerSeed,
        uint256 takerSeed,
        int256 milliBtc,
        int256 offsetBp,
        bool makerReduce,
        bool takerReduce
    ) external {
        _next(1);
        (uint256 maker, uint256 taker) = _pair(makerSeed, takerSeed);
        int256 milli = _boundInt(milliBtc, -3_000, 2_999);
        if (milli >= 0) milli += 1; // never zero
        _trade(maker, taker, milli, _boundInt(offsetBp, -600, 600), makerReduce, takerReduce);
    }

    /// The taker far past 10x, the richest other trader as maker (which can carry it).
    function tradeOverLeveraged(uint256 takerSeed, uint256 leverage, bool buy) external {
        _next(1);
        uint256 taker = takerSeed % 4;
        uint256 maker = taker == 0 ? 1 : 0;
        for (uint256 i; i < 4; ++i) {
            if (i != taker && _capital(i) > _capital(maker)) maker = i;
        }
        uint256 milli = _capital(taker) * _bound(leverage, 12, 30) * 1000 / index;
        if (milli != 0 && _capital(maker) * 9 * 1000 / index >= milli) {
            _trade(maker, taker, buy ? int256(milli) : -int256(milli), 0, false, false);
        }
    }

    /// Small moves (+-3 %) and, one time in five, a large one (-20 %, -10 %, +10 %, +15 %); to the cent.
    function movePrice(uint256 kindSeed, int256 moveBp) external {
        _next(1);
        int256 move = kindSeed % 5 == 0
            ? [int256(-2_000), -1_000, 1_000, 1_500][(kindSeed / 5) % 4]
            : _boundInt(moveBp, -300, 300);
        uint256 cents = index * uint256(10_000 + move) / 10_000 / 1e16;
        _setPrice(cents == 0 ? 1 : cents);
    }

    function quote(int256 offsetBp, uint256 spreadBp) external {
        _next(1);
        uint256 mid = index * uint256(10_000 + _boundInt(offsetBp, -200, 200)) / 10_000;
        uint256 half = mid * _bound(spreadBp, 1, 50) / 20_000 + 1;
        vm.prank(matcher);
        funding.recordQuote(MARKET_ID, mid - half, mid + half);
        _next(1); // one quote per block
    }

    function wait(uint256 seed) external {
        _next([uint256(1), 60, 3_600, 8 * 3_600][seed % 4]);
    }

    function crank(uint256 bySeed) external {
        _next(1);
        vm.prank(_person(bySeed));
        funding.crank(MARKET_ID);
    }

    function settleFunding(uint256 whoSeed, uint256 bySeed) external {
        _next(1);
        vm.prank(_person(bySeed));
        market.settleFunding(_person(whoSeed));
    }

    function liquidate(uint256 liquidatorSeed, uint256 victimSeed, uint256 quarters) external {
        _next(1);
        address victim = _person(victimSeed);
        (int256 size,,) = market.positionOf(victim);
        uint256 abs = size >= 0 ? uint256(size) : uint256(-size);
        uint256 amount = abs == 0 ? WAD : abs * _bound(quarters, 1, 4) / 4;
        vm.prank(_person(liquidatorSeed));
        market.liquidate(victim, amount);
    }

    // ================================================================== views for the test

    function people() external view returns (address[4] memory) {
        return _people;
    }

    /// The EIP-712 digest as the Python side (perpkit/orders.py) computes it off-chain.
    function orderDigest(Order memory o) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(ORDER_TYPEHASH, o.trader, o.marketId, o.size, o.limitPrice, o.nonce, o.expiry, o.reduceOnly)
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    // ================================================================== internals

    /// The next block, `seconds_` later; the feed is refreshed at its price after 12 hours
    /// without an update, as tests/mirror.py does, so it stays within the 1-day heartbeat.
    function _next(uint256 seconds_) internal {
        time += seconds_;
        blockNumber += 1;
        vm.warp(time);
        vm.roll(blockNumber);
        if (time - feedUpdated > 12 hours) _setPrice(index / 1e16);
    }

    function _setPrice(uint256 cents) internal {
        int256 answer = int256(cents * 1e6); // 8 decimals
        feed.updateAnswer(answer);
        index = uint256(answer) * 1e10;
        feedUpdated = time;
    }

    function _fund(address who, uint256 amount) internal {
        vm.startPrank(who);
        token.mint(who, amount);
        token.approve(address(router), amount);
        router.deposit(MARKET_ID, amount);
        vm.stopPrank();
    }

    function _tradeWithinMargin(uint256 maker, uint256 taker, uint256 leverage, bool buy, int256 offsetBp) internal {
        uint256 capital = _capital(maker) < _capital(taker) ? _capital(maker) : _capital(taker);
        uint256 milli = capital * leverage * 1000 / index / 2;
        if (milli != 0) _trade(maker, taker, buy ? int256(milli) : -int256(milli), offsetBp, false, false);
    }

    /// `maker` rests an order of signed `milliBtc` / 1000 BTC at index x (1 + offset), to the
    /// cent; `taker` takes all of it; the matcher settles the fill.
    function _trade(uint256 maker, uint256 taker, int256 milliBtc, int256 offsetBp, bool makerReduce, bool takerReduce)
        internal
    {
        uint256 price = index * uint256(10_000 + offsetBp) / 10_000 / 1e16 * 1e16;
        int256 size = milliBtc * int256(WAD) / 1000;
        uint256 expiry = time + 10 days;
        Order memory mk = Order(_people[maker], MARKET_ID, size, price, nonce++, expiry, makerReduce);
        Order memory tk = Order(_people[taker], MARKET_ID, -size, price, nonce++, expiry, takerReduce);
        Fill[] memory fills = new Fill[](1);
        fills[0] = Fill(mk, _sign(_keys[maker], mk), tk, _sign(_keys[taker], tk), uint256(size >= 0 ? size : -size));
        vm.prank(matcher);
        router.settle(fills);
    }

    function _sign(uint256 key, Order memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, orderDigest(o));
        return abi.encodePacked(r, s, v);
    }

    function _capital(uint256 i) internal view returns (uint256) {
        return market.capitalOf(_people[i]);
    }

    function _person(uint256 seed) internal view returns (address) {
        return _people[seed % 4];
    }

    /// Two different traders.
    function _pair(uint256 makerSeed, uint256 takerSeed) internal pure returns (uint256 maker, uint256 taker) {
        maker = makerSeed % 4;
        taker = (maker + 1 + takerSeed % 3) % 4;
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function _boundInt(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        uint256 span = uint256(hi - lo) + 1;
        uint256 u = uint256(x) % span; // two's complement: any int maps into [0, span)
        return lo + int256(u);
    }
}
