// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Risk parameters of one market, all ratios in WAD. Owner-settable within hard bounds
///         (see `ParamsLib`).
struct MarketParams {
    uint64 initialMarginRatio; // margin for a risk-increasing change, e.g. 0.10e18 = 10x
    uint64 maintenanceMarginRatio; // below it an account is liquidatable
    uint64 liquidationFee; // of liquidated notional, paid by the liquidated account
    uint64 liquidatorShare; // part of the liquidation fee that goes to the liquidator
    uint64 makerFee; // of fill notional, to the insurance fund
    uint64 takerFee; // of fill notional, to the insurance fund
    uint64 priceBand; // max |fill price - index| / index
    uint64 warmupPeriod; // seconds fresh profit warms up before it can be withdrawn (>= the keeper's sweep)
    uint128 maxOpenInterest; // per side, base units (WAD)
    uint128 minPositionSize; // smallest non-zero |size| (WAD)
}

/// @notice A non-settlement collateral token of one market, owner-set within hard bounds (see
///         `ParamsLib`). It counts as margin at `weight` of its oracle value; a liquidator buys it
///         `liquidationDiscount` below the oracle price to repay the account's debt.
struct CollateralParams {
    uint64 weight; // e.g. 0.98e18 for FRAX, 0.80e18 for WETH; 0 delists it for new risk
    uint64 liquidationDiscount; // weight + discount <= 1: a sale never lowers the account's margin
    uint128 cap; // most token units the market holds of it, all accounts together
}

/// @notice Funding parameters of one market (WAD per 8 hours).
struct FundingParams {
    uint64 interestRate; // I, default 0.01 %
    uint64 premiumClamp; // bound of clamp(I - P), default 0.05 %
    uint64 rateCap; // bound of the funding rate, default 1 %
}

/// @notice An EIP-712 signed order. `size` > 0 buys (long), < 0 sells (short).
struct Order {
    address trader;
    uint256 marketId;
    int256 size;
    uint256 limitPrice;
    uint256 nonce;
    uint256 expiry;
    bool reduceOnly;
}

/// @notice A matched pair: the maker's order sets the price; `amount` (WAD base units) is filled.
struct Fill {
    Order maker;
    bytes makerSignature;
    Order taker;
    bytes takerSignature;
    uint256 amount;
}

/// @notice What the router hands a market for one validated fill.
struct Trade {
    address maker;
    address taker;
    int256 makerDelta; // signed size change of the maker; the taker gets the opposite
    uint256 price;
    bool makerReduceOnly;
    bool takerReduceOnly;
}
