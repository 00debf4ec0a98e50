// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPyth} from "../oracle/IPyth.sol";

// Pyth's own errors (pyth-sdk-solidity PythErrors), with the same selectors.
/// @notice No price was ever published for the id.
error PriceFeedNotFound();
/// @notice The price is older than the age asked for.
error StalePrice();
/// @notice `updatePriceFeeds` was sent less than `getUpdateFee`.
error InsufficientFee();

/// @title MockPyth
/// @notice Behaves like Pyth's MockPyth (`updatePriceFeeds` with `createPriceFeedUpdateData`
///         payloads, an update older than the stored one is ignored, a fee per update), plus the
///         test levers the real contract does not have: `setPrice` writes any price, confidence,
///         exponent and publish time (stale, future, zero, negative), and a reverting mode.
///         Local chains and tests only.
contract MockPyth is IPyth {
    /// @notice Wei charged per update in `updatePriceFeeds`.
    uint256 public singleUpdateFee;
    /// @notice When true every read reverts (a paused or broken Pyth contract).
    bool public reverting;

    mapping(bytes32 => Price) private _prices;

    /// @notice Emitted for each update that replaced the stored price.
    event PriceFeedUpdate(bytes32 indexed id, uint64 publishTime, int64 price, uint64 conf);

    constructor(uint256 singleUpdateFee_) {
        singleUpdateFee = singleUpdateFee_;
    }

    /// @notice Writes the price of `id` as given, whatever the stored one.
    function setPrice(bytes32 id, int64 price_, uint64 conf, int32 expo, uint256 publishTime) external {
        _prices[id] = Price(price_, conf, expo, publishTime);
        emit PriceFeedUpdate(id, uint64(publishTime), price_, conf);
    }

    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function setUpdateFee(uint256 fee) external {
        singleUpdateFee = fee;
    }

    /// @notice The payload `updatePriceFeeds` accepts for one price (Pyth's MockPyth helper).
    function createPriceFeedUpdateData(bytes32 id, int64 price_, uint64 conf, int32 expo, uint64 publishTime)
        external
        pure
        returns (bytes memory)
    {
        return abi.encode(id, price_, conf, expo, publishTime);
    }

    /// @inheritdoc IPyth
    function updatePriceFeeds(bytes[] calldata updateData) external payable {
        if (msg.value < singleUpdateFee * updateData.length) revert InsufficientFee();
        for (uint256 i; i < updateData.length; ++i) {
            (bytes32 id, int64 p, uint64 conf, int32 expo, uint64 publishTime) =
                abi.decode(updateData[i], (bytes32, int64, uint64, int32, uint64));
            if (publishTime <= _prices[id].publishTime) continue; // Pyth keeps the newest
            _prices[id] = Price(p, conf, expo, publishTime);
            emit PriceFeedUpdate(id, publishTime, p, conf);
        }
    }

    /// @inheritdoc IPyth
    function getUpdateFee(bytes[] calldata updateData) external view returns (uint256) {
        return singleUpdateFee * updateData.length;
    }

    /// @inheritdoc IPyth
    function getPriceUnsafe(bytes32 id) public view returns (Price memory) {
        require(!reverting, "MockPyth: reverting");
        Price memory p = _prices[id];
        if (p.publishTime == 0) revert PriceFeedNotFound();
        return p;
    }

    /// @inheritdoc IPyth
    function getPriceNoOlderThan(bytes32 id, uint256 age) external view returns (Price memory p) {
        p = getPriceUnsafe(id);
        uint256 t = p.publishTime;
        if ((block.timestamp > t ? block.timestamp - t : t - block.timestamp) > age) revert StalePrice();
    }
}
