// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFundingRate} from "./interfaces/IFundingRate.sol";
import {IPriceOracle} from "./oracle/IPriceOracle.sol";
import {FundingParams} from "./libraries/Types.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {Events} from "./libraries/Events.sol";
import "./libraries/Errors.sol";

interface IMarketOracle {
    function oracle() external view returns (IPriceOracle);
}

/// @title FundingRate
/// @notice One contract for all markets. Premium samples from the sampler's quotes give the mark
///         price; `crank` accrues the cumulative funding index with the rate fixed at the previous
///         crank (never retroactive) and then fixes the next rate. O(1): no loop over accounts.
contract FundingRate is IFundingRate {
    using FixedPointMath for int256;

    uint256 public constant SAMPLES = 30;
    uint256 public constant FUNDING_PERIOD = 8 hours;
    /// @notice Index precision: 1e27 per USD per base unit (rate WAD x price WAD / 1e9).
    int256 public constant INDEX_SCALE = 1e27;
    /// @notice A premium sample is clamped to +-10 % of the index, so the mark stays positive.
    int256 public constant MAX_SAMPLE_PREMIUM = 0.1e18;

    /// @dev Packed by access. `crank` reads slots 0-2 and writes 0 and 2; a market's `accrue` reads
    ///      0, 1 and 3 and writes 0; `recordQuote` reads 1-4 and writes 1, 3, 4 and one ring slot.
    ///      The index fits 152 bits: +-2.8e18 USD of cumulative funding per base unit (at the 5 %
    ///      cap, 52,000 years of a 1e12 USD price). The funding parameters fit 56 bits (ParamsLib
    ///      caps them at 0.05e18 < 2^56).
    struct State {
        int152 cumulativeIndex; // slot 0
        int64 rate; // fixed at the last crank, WAD per 8 h
        uint40 lastAccrual;
        int128 premiumSum; // slot 1: sum of the ring (slots not yet written hold zero-premium samples)
        uint8 head; // next ring slot to write
        uint8 count; // quotes recorded, up to SAMPLES (saves the cold read of a slot still zero)
        uint56 interestRate;
        uint56 premiumClamp;
        IPriceOracle oracle; // slot 2: the market's oracle, cached (see `syncOracle`); set iff registered
        uint40 lastCrank;
        uint56 rateCap;
        address market; // slot 3
        uint40 lastQuoteBlock;
        uint128 lastBid; // slot 4
        uint128 lastAsk;
        int128[SAMPLES] premiums;
    }

    address public immutable router;
    address public sampler;
    mapping(uint256 => State) internal _state;

    constructor(address router_) {
        if (router_ == address(0)) revert ZeroAddress();
        router = router_;
    }

    modifier onlyRouter() {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ admin (router)

    /// @inheritdoc IFundingRate
    function registerMarket(uint256 marketId, address market, FundingParams calldata params) external onlyRouter {
        State storage s = _state[marketId];
        if (s.market != address(0)) revert MarketAlreadyRegistered(marketId);
        if (market == address(0)) revert ZeroAddress();
        IPriceOracle oracle = IMarketOracle(market).oracle();
        if (address(oracle) == address(0)) revert ZeroAddress();
        s.market = market;
        s.oracle = oracle;
        s.lastAccrual = uint40(block.timestamp);
        _setParams(s, params);
        emit Events.MarketRegistered(marketId, market);
        emit Events.FundingParamsSet(marketId, params);
    }

    /// @inheritdoc IFundingRate
    function setParams(uint256 marketId, FundingParams calldata params) external onlyRouter {
        State storage s = _registered(marketId);
        _setParams(s, params);
        emit Events.FundingParamsSet(marketId, params);
    }

    /// @inheritdoc IFundingRate
    function syncOracle(uint256 marketId) external onlyRouter {
        State storage s = _registered(marketId);
        s.oracle = IMarketOracle(s.market).oracle();
    }

    /// @inheritdoc IFundingRate
    function setSampler(address sampler_) external onlyRouter {
        sampler = sampler_;
    }

    // ------------------------------------------------------------------ sampler

    /// @inheritdoc IFundingRate
    function recordQuote(uint256 marketId, uint256 bid1, uint256 ask1) external {
        if (msg.sender != sampler) revert OnlySampler(msg.sender);
        State storage s = _registered(marketId);
        if (bid1 == 0 || bid1 > ask1 || ask1 > type(uint128).max) revert InvalidQuote(bid1, ask1);
        if (bid1 == s.lastBid && ask1 == s.lastAsk) revert QuoteUnchanged(bid1, ask1);
        if (s.lastQuoteBlock == block.number) revert QuoteAlreadyRecorded(marketId, block.number);

        uint256 index = _indexPrice(s);
        int256 bound = int256(index) * MAX_SAMPLE_PREMIUM / 1e18;
        int256 sample = (int256((bid1 + ask1) / 2) - int256(index)).clamp(-bound, bound);

        uint8 head = s.head;
        if (s.count < SAMPLES) {
            s.count += 1;
        } else {
            s.premiumSum -= s.premiums[head];
        }
        int128 sample128 = sample.toInt128(); // checked: no silent wrap at absurd prices
        s.premiums[head] = sample128;
        s.premiumSum = (int256(s.premiumSum) + sample128).toInt128();
        s.head = uint8((uint256(head) + 1) % SAMPLES);
        s.lastBid = uint128(bid1);
        s.lastAsk = uint128(ask1);
        s.lastQuoteBlock = uint40(block.number);

        emit Events.QuoteRecorded(marketId, bid1, ask1, index, sample, _ma30(s));
    }

    // ------------------------------------------------------------------ accrual

    /// @inheritdoc IFundingRate
    function accrue(uint256 marketId, uint256 indexPrice) external returns (int256, uint256) {
        State storage s = _state[marketId];
        if (msg.sender != s.market || s.market == address(0)) revert OnlyMarket(marketId, msg.sender);
        int256 index = _accrue(s, indexPrice);
        return (index, _mark(s, indexPrice));
    }

    /// @inheritdoc IFundingRate
    function crank(uint256 marketId) external {
        State storage s = _registered(marketId);
        uint256 indexPrice = _indexPrice(s);
        int256 cumulative = _accrue(s, indexPrice);
        int256 rate = _fundingRate(s, indexPrice);
        s.rate = int64(rate);
        s.lastCrank = uint40(block.timestamp);
        emit Events.FundingCranked(marketId, cumulative, rate, indexPrice, _mark(s, indexPrice));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IFundingRate
    function markPrice(uint256 marketId) external view returns (uint256) {
        State storage s = _registered(marketId);
        return _mark(s, _indexPrice(s));
    }

    /// @inheritdoc IFundingRate
    function premiumIndex(uint256 marketId) external view returns (int256) {
        State storage s = _registered(marketId);
        return _premiumIndex(s, _indexPrice(s));
    }

    /// @inheritdoc IFundingRate
    function currentFundingRate(uint256 marketId) external view returns (int256) {
        State storage s = _registered(marketId);
        return _fundingRate(s, _indexPrice(s));
    }

    /// @inheritdoc IFundingRate
    function fundingRate(uint256 marketId) external view returns (int256) {
        return _registered(marketId).rate;
    }

    /// @inheritdoc IFundingRate
    function fundingIndex(uint256 marketId) external view returns (int256) {
        State storage s = _registered(marketId);
        return s.cumulativeIndex + _pending(s, _indexPrice(s));
    }

    /// @notice Quotes recorded (up to 30), the ring's sum (MA30 = sum / 30) and the last quote.
    function premiumState(uint256 marketId)
        external
        view
        returns (uint256 count, int256 sum, uint256 lastBid, uint256 lastAsk, uint256 lastAccrual)
    {
        State storage s = _registered(marketId);
        return (s.count, s.premiumSum, s.lastBid, s.lastAsk, s.lastAccrual);
    }

    /// @inheritdoc IFundingRate
    function lastCrank(uint256 marketId) external view returns (uint256) {
        return _registered(marketId).lastCrank;
    }

    /// @notice The funding parameters of a market.
    function paramsOf(uint256 marketId) external view returns (FundingParams memory) {
        State storage s = _registered(marketId);
        return FundingParams(s.interestRate, s.premiumClamp, s.rateCap);
    }

    /// @notice The registered market of `marketId` (zero if none).
    function marketOf(uint256 marketId) external view returns (address) {
        return _state[marketId].market;
    }

    // ------------------------------------------------------------------ internals

    /// @dev A registered market has a non-zero oracle (checked at registration; the router never
    ///      sets a zero one), which `crank` and `recordQuote` read anyway.
    function _registered(uint256 marketId) private view returns (State storage s) {
        s = _state[marketId];
        if (address(s.oracle) == address(0)) revert UnknownMarket(marketId);
    }

    function _setParams(State storage s, FundingParams calldata p) private {
        s.interestRate = _toUint56(p.interestRate);
        s.premiumClamp = _toUint56(p.premiumClamp);
        s.rateCap = _toUint56(p.rateCap);
    }

    function _toUint56(uint64 x) private pure returns (uint56) {
        if (x > type(uint56).max) revert ValueOverflow(int256(uint256(x)));
        return uint56(x);
    }

    function _indexPrice(State storage s) private view returns (uint256) {
        return s.oracle.price();
    }

    /// @dev Accrual since the last one at the fixed rate: rate x index x elapsed / 8 h, in 1e27.
    ///      Truncated toward zero; both sides of the book use the same index, so this is no one's gain.
    function _pending(State storage s, uint256 indexPrice) private view returns (int256) {
        uint256 elapsed = block.timestamp - s.lastAccrual;
        if (elapsed == 0 || s.rate == 0) return 0;
        return int256(s.rate) * int256(indexPrice) * int256(elapsed) / int256(FUNDING_PERIOD * 1e9);
    }

    /// @dev Writes slot 0 only (index and lastAccrual share it).
    function _accrue(State storage s, uint256 indexPrice) private returns (int256 cumulative) {
        cumulative = s.cumulativeIndex;
        if (s.lastAccrual == block.timestamp) return cumulative;
        int256 pending = _pending(s, indexPrice);
        if (pending != 0) {
            cumulative += pending;
            s.cumulativeIndex = cumulative.toInt152();
        }
        s.lastAccrual = uint40(block.timestamp);
    }

    /// @dev MA30, truncated toward zero. The ring starts full of zero-premium samples (DESIGN §6),
    ///      so the mean is always over SAMPLES: a mean over the few samples recorded so far would
    ///      let the first quote of a new market move the mark by its whole premium.
    function _ma30(State storage s) private view returns (int256) {
        return int256(s.premiumSum) / int256(SAMPLES);
    }

    /// @dev MA30 bounded to +-10 % of the *current* index: samples were clamped against the index
    ///      of their time, so after a crash of more than 90 % an unbounded MA30 could exceed the
    ///      index and wrap the mark below zero. Bounded, the mark stays within [0.9, 1.1] x index.
    function _boundedMa30(State storage s, uint256 indexPrice) private view returns (int256) {
        int256 bound = int256(indexPrice) * MAX_SAMPLE_PREMIUM / 1e18;
        return _ma30(s).clamp(-bound, bound);
    }

    function _mark(State storage s, uint256 indexPrice) private view returns (uint256) {
        return uint256(int256(indexPrice) + _boundedMa30(s, indexPrice));
    }

    function _premiumIndex(State storage s, uint256 indexPrice) private view returns (int256) {
        return _boundedMa30(s, indexPrice) * 1e18 / int256(indexPrice);
    }

    function _fundingRate(State storage s, uint256 indexPrice) private view returns (int256) {
        int256 premium = _premiumIndex(s, indexPrice);
        int256 clampBound = int256(uint256(s.premiumClamp));
        int256 cap = int256(uint256(s.rateCap));
        int256 interest = int256(uint256(s.interestRate));
        return (premium + (interest - premium).clamp(-clampBound, clampBound)).clamp(-cap, cap);
    }
}
