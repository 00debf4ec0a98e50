// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPriceOracle
/// @notice The price source a market reads: USD per one whole base unit, in WAD (1e18).
interface IPriceOracle {
    /// @notice The validated price in WAD.
    /// @dev Reverts with a custom error from `Errors.sol` when the source cannot be trusted
    ///      (non-positive, unset, future, stale or incomplete round, sequencer down or in grace).
    function price() external view returns (uint256 wad);

    /// @notice Like `price()` but never reverts: `ok` is false where `price()` would revert.
    /// @dev Lets callers degrade gracefully, e.g. a flat account withdrawing while the feed is stale.
    function tryPrice() external view returns (bool ok, uint256 wad);
}
