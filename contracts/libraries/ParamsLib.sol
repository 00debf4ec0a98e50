// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketParams, FundingParams, CollateralParams} from "./Types.sol";
import {ParamOutOfBounds, EnvelopeViolated} from "./Errors.sol";

/// @title ParamsLib
/// @notice Hard bounds that no owner can leave, and the market-creation safety envelope.
library ParamsLib {
    uint256 internal constant MIN_IMR = 0.01e18; // at most 100x leverage
    uint256 internal constant MAX_IMR = 1e18;
    uint256 internal constant MIN_MMR = 0.001e18;
    uint256 internal constant MAX_LIQUIDATION_FEE = 0.05e18;
    uint256 internal constant MAX_TRADING_FEE = 0.01e18;
    uint256 internal constant MIN_PRICE_BAND = 0.001e18;
    uint256 internal constant MAX_PRICE_BAND = 0.2e18;
    /// @dev Fresh profit warms up at least a minute (a keeper's sweep of the losers must fit in it:
    ///      README "The warmup inequality" states it) and at most a day.
    uint256 internal constant MIN_WARMUP_PERIOD = 60;
    uint256 internal constant MAX_WARMUP_PERIOD = 1 days;
    uint256 internal constant MAX_INTEREST_RATE = 0.001e18; // per 8 h
    uint256 internal constant MAX_PREMIUM_CLAMP = 0.01e18;
    uint256 internal constant MAX_RATE_CAP = 0.05e18; // per 8 h
    uint256 internal constant MAX_COLLATERAL_WEIGHT = 0.99e18;
    uint256 internal constant MIN_LIQUIDATION_DISCOUNT = 0.01e18; // a liquidator's reason to buy
    uint256 internal constant MAX_LIQUIDATION_DISCOUNT = 0.2e18;

    function _bound(bytes32 name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert ParamOutOfBounds(name, value, lo, hi);
    }

    /// @notice Reverts unless every market parameter is within its hard bounds.
    function validate(MarketParams memory p) internal pure {
        _bound("initialMarginRatio", p.initialMarginRatio, MIN_IMR, MAX_IMR);
        _bound("maintenanceMarginRatio", p.maintenanceMarginRatio, MIN_MMR, uint256(p.initialMarginRatio) - 1);
        _bound("liquidationFee", p.liquidationFee, 0, MAX_LIQUIDATION_FEE);
        _bound("liquidatorShare", p.liquidatorShare, 0, 1e18);
        _bound("makerFee", p.makerFee, 0, MAX_TRADING_FEE);
        _bound("takerFee", p.takerFee, 0, MAX_TRADING_FEE);
        _bound("priceBand", p.priceBand, MIN_PRICE_BAND, MAX_PRICE_BAND);
        _bound("warmupPeriod", p.warmupPeriod, MIN_WARMUP_PERIOD, MAX_WARMUP_PERIOD);
        _bound("maxOpenInterest", p.maxOpenInterest, 1, type(uint128).max);
        _bound("minPositionSize", p.minPositionSize, 1, p.maxOpenInterest);
    }

    /// @notice Reverts unless every funding parameter is within its hard bounds.
    function validate(FundingParams memory f) internal pure {
        _bound("interestRate", f.interestRate, 0, MAX_INTEREST_RATE);
        _bound("premiumClamp", f.premiumClamp, 0, MAX_PREMIUM_CLAMP);
        _bound("rateCap", f.rateCap, f.interestRate, MAX_RATE_CAP);
    }

    /// @notice Reverts unless a collateral's parameters are within their hard bounds. The weight is
    ///         at most `1 - liquidationDiscount`: selling collateral worth `r / (1 - d)` to repay `r`
    ///         of debt then changes the account's margin by `r - r * w / (1 - d) >= 0`, so a
    ///         collateral sale never lowers it.
    function validate(CollateralParams memory c) internal pure {
        _bound("liquidationDiscount", c.liquidationDiscount, MIN_LIQUIDATION_DISCOUNT, MAX_LIQUIDATION_DISCOUNT);
        uint256 maxWeight = 1e18 - c.liquidationDiscount;
        _bound("weight", c.weight, 0, maxWeight < MAX_COLLATERAL_WEIGHT ? maxWeight : MAX_COLLATERAL_WEIGHT);
        _bound("cap", c.cap, 1, type(uint128).max);
    }

    /// @notice The safety envelope checked at market creation and on every parameter change:
    ///
    ///             initialMarginRatio > rateCap + liquidationFee + priceBand
    ///
    ///         An account opened at exactly initial margin holds equity `imr * N` on notional N.
    ///         Within one funding period it can lose at most `rateCap * N` to funding, `priceBand * N`
    ///         by being filled at the edge of the band around the index, and `liquidationFee * N`
    ///         when liquidated. The strict inequality keeps its equity above zero through all three,
    ///         so a healthy account cannot become bad debt before a keeper can act on it.
    function checkEnvelope(MarketParams memory p, FundingParams memory f) internal pure {
        if (uint256(p.initialMarginRatio) <= uint256(f.rateCap) + p.liquidationFee + p.priceBand) {
            revert EnvelopeViolated(p.initialMarginRatio, f.rateCap, p.liquidationFee, p.priceBand);
        }
    }
}
