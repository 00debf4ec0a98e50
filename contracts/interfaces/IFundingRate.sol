// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FundingParams} from "../libraries/Types.sol";

/// @title IFundingRate
/// @notice Mark price, premium index and the O(1) cumulative funding index of every market.
interface IFundingRate {
    /// @notice Registers `market` under `marketId` with its funding parameters (router only).
    ///         Funding starts at rate zero, so the first crank accrues nothing.
    function registerMarket(uint256 marketId, address market, FundingParams calldata params) external;

    /// @notice Sets a market's funding parameters (router only; bounds checked by the router).
    function setParams(uint256 marketId, FundingParams calldata params) external;

    /// @notice Re-reads the market's oracle after the router pointed the market at a new one.
    function syncOracle(uint256 marketId) external;

    /// @notice Sets the sampler, the only account allowed to record quotes (router only).
    function setSampler(address sampler) external;

    /// @notice Records the book's best bid and ask (sampler only): pushes `(bid1 + ask1) / 2 - index`
    ///         into the market's 30-slot ring buffer. Refused when neither changed, or twice in a block.
    function recordQuote(uint256 marketId, uint256 bid1, uint256 ask1) external;

    /// @notice Accrues funding up to now at the fixed rate and returns the index and mark price
    ///         (the registered market only, which passes the index price it already read).
    function accrue(uint256 marketId, uint256 indexPrice) external returns (int256 fundingIndex, uint256 markPrice);

    /// @notice Accrues funding up to now, then fixes the rate for the next interval from the current
    ///         premium. Anyone may call it.
    function crank(uint256 marketId) external;

    /// @notice `MP = IP + MA30` (MA30 = the premium ring's sum / 30; the ring starts as 30 zero-premium
    ///         samples, so one quote moves the mark by at most 1/30 of its premium), WAD.
    function markPrice(uint256 marketId) external view returns (uint256);

    /// @notice `P = MA30 / IP`, WAD (signed).
    function premiumIndex(uint256 marketId) external view returns (int256);

    /// @notice `F = clamp(P + clamp(I - P, -c, c), -cap, cap)` per 8 h, WAD (signed), from the current premium.
    function currentFundingRate(uint256 marketId) external view returns (int256);

    /// @notice Timestamp of the last crank (0 before the first).
    function lastCrank(uint256 marketId) external view returns (uint256);

    /// @notice The rate fixed at the last crank, accruing now.
    function fundingRate(uint256 marketId) external view returns (int256);

    /// @notice Cumulative funding per base unit in 1e27 (USD), pending accrual included.
    ///         An account of size `s` owes `s * (index_now - snapshot) / 1e27` WAD (longs pay when > 0).
    function fundingIndex(uint256 marketId) external view returns (int256);
}
