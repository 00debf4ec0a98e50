// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPyth} from "./IPyth.sol";
import {IPriceOracle} from "./IPriceOracle.sol";
import "../libraries/Errors.sol";

/// @title PythOracle
/// @notice A defensive wrapper around one Pyth price feed, with the same `price()` as
///         ChainlinkOracle: the price is read with try/catch and must be positive, published, not
///         from the future, no older than `maxAge`, with an exponent in [-18, 0] and a confidence
///         interval no wider than `maxConfidence` of the price; it is scaled exactly to WAD.
/// @dev Reads `getPriceUnsafe` and applies the age bound itself (the semantics of
///      `getPriceNoOlderThan`, which reverts with a bare `StalePrice()`), so that each refusal is a
///      perpkit custom error carrying the values that failed. Pyth is a pull oracle: a keeper posts
///      `updatePriceFeeds` before the market reads. Immutable, like ChainlinkOracle.
contract PythOracle is IPriceOracle {
    /// @notice Longest `maxAge` accepted at construction.
    uint256 public constant MAX_AGE = 1 days;
    /// @notice Widest confidence bound accepted at construction: 10 % of the price (WAD).
    uint256 public constant MAX_CONFIDENCE = 0.1e18;

    /// @notice The Pyth contract.
    IPyth public immutable pyth;
    /// @notice The Pyth price id (e.g. BTC/USD's `0xe62df6c8…b43`).
    bytes32 public immutable priceId;
    /// @notice Seconds after `publishTime` past which a price is stale.
    uint256 public immutable maxAge;
    /// @notice Widest accepted `conf / price`, in WAD (0.02e18 = 2 %).
    uint256 public immutable maxConfidence;

    constructor(IPyth pyth_, bytes32 priceId_, uint256 maxAge_, uint256 maxConfidence_) {
        if (address(pyth_) == address(0)) revert ZeroAddress();
        if (maxAge_ == 0 || maxAge_ > MAX_AGE) revert OracleHeartbeatOutOfBounds(maxAge_, MAX_AGE);
        if (maxConfidence_ == 0 || maxConfidence_ > MAX_CONFIDENCE) {
            revert PythConfidenceBoundOutOfBounds(maxConfidence_, MAX_CONFIDENCE);
        }
        pyth = pyth_;
        priceId = priceId_;
        maxAge = maxAge_;
        maxConfidence = maxConfidence_;
    }

    /// @inheritdoc IPriceOracle
    function price() public view returns (uint256 wad) {
        try pyth.getPriceUnsafe(priceId) returns (IPyth.Price memory p) {
            if (p.price <= 0) revert OracleAnswerNotPositive(p.price);
            if (p.publishTime == 0) revert PythPriceUnpublished(priceId);
            if (p.publishTime > block.timestamp) revert OracleUpdatedInFuture(p.publishTime, block.timestamp);
            if (block.timestamp - p.publishTime > maxAge) revert OracleStale(p.publishTime, maxAge, block.timestamp);
            if (p.expo < -18 || p.expo > 0) revert PythExponentUnsupported(p.expo);
            uint256 answer = uint256(int256(p.price)); // < 2^63
            // conf / price > maxConfidence: for a whole conf, the same as conf > floor(maxConfidence ·
            // price / WAD) (maxConfidence · price < 2^60 · 2^63: no overflow).
            if (p.conf > maxConfidence * answer / 1e18) {
                revert PythConfidenceTooWide(p.conf, p.price, maxConfidence);
            }
            return answer * 10 ** uint256(int256(18 + p.expo)); // exact: < 2^63 · 10^18 < 2^123
        } catch {
            revert OracleFeedReverted(address(pyth));
        }
    }

    /// @inheritdoc IPriceOracle
    function tryPrice() external view returns (bool ok, uint256 wad) {
        // One source of truth: the same checks as price(), through a static self-call.
        try this.price() returns (uint256 w) {
            return (true, w);
        } catch {
            return (false, 0);
        }
    }
}
