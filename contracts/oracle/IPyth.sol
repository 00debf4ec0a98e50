// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPyth
/// @notice The part of the Pyth Network pull-oracle interface (pyth-sdk-solidity `IPyth`) that
///         perpkit reads, with the same selectors and the same `Price` layout, so a deployment can
///         point `PythOracle` at the real Pyth contract of a chain.
interface IPyth {
    /// @notice A price `price × 10^expo` with a confidence interval `± conf × 10^expo`.
    struct Price {
        int64 price;
        uint64 conf;
        int32 expo;
        uint256 publishTime;
    }

    /// @notice The latest price of `id` whatever its age; reverts when the feed is unknown.
    function getPriceUnsafe(bytes32 id) external view returns (Price memory price);

    /// @notice The latest price of `id` if published at most `age` seconds from now; reverts otherwise.
    function getPriceNoOlderThan(bytes32 id, uint256 age) external view returns (Price memory price);

    /// @notice Pushes signed price updates (Pyth's pull model: whoever needs the price pays the fee).
    function updatePriceFeeds(bytes[] calldata updateData) external payable;

    /// @notice The fee in wei `updatePriceFeeds(updateData)` requires.
    function getUpdateFee(bytes[] calldata updateData) external view returns (uint256 feeAmount);
}
