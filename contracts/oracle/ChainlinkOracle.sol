// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";
import {IPriceOracle} from "./IPriceOracle.sol";
import "../libraries/Errors.sol";

/// @title ChainlinkOracle
/// @notice A defensive wrapper around one Chainlink-style feed (after Liquity v2): the answer is
///         read with try/catch, must be positive, from a complete round, not from the future and
///         no older than `heartbeat`; it is scaled exactly from the feed's decimals to WAD. On an L2
///         an optional sequencer-uptime feed must report "up" for longer than `gracePeriod`.
/// @dev Immutable: a new feed or heartbeat means a new oracle, which the market owner points to.
contract ChainlinkOracle is IPriceOracle {
    /// @notice Longest heartbeat accepted at construction (Chainlink's slowest feeds update daily).
    uint256 public constant MAX_HEARTBEAT = 2 days;
    /// @notice Longest sequencer grace period accepted at construction.
    uint256 public constant MAX_GRACE_PERIOD = 1 days;

    /// @notice The price feed.
    AggregatorV3Interface public immutable feed;
    /// @notice Seconds after `updatedAt` past which an answer is stale.
    uint256 public immutable heartbeat;
    /// @notice The feed's decimals, read once at construction.
    uint8 public immutable feedDecimals;
    /// @notice L2 sequencer-uptime feed, or the zero address where there is none (L1).
    AggregatorV3Interface public immutable sequencerFeed;
    /// @notice Seconds the sequencer must have been up before prices are trusted again.
    uint256 public immutable gracePeriod;

    /// @dev 10**(18 - feedDecimals): multiplying by it is exact.
    uint256 private immutable _scale;

    constructor(AggregatorV3Interface feed_, uint256 heartbeat_, AggregatorV3Interface sequencerFeed_, uint256 gracePeriod_) {
        if (address(feed_) == address(0)) revert ZeroAddress();
        if (heartbeat_ == 0 || heartbeat_ > MAX_HEARTBEAT) revert OracleHeartbeatOutOfBounds(heartbeat_, MAX_HEARTBEAT);
        if (gracePeriod_ > MAX_GRACE_PERIOD) revert OracleGracePeriodOutOfBounds(gracePeriod_, MAX_GRACE_PERIOD);
        uint8 decimals_;
        try feed_.decimals() returns (uint8 d) {
            decimals_ = d;
        } catch {
            revert OracleFeedReverted(address(feed_));
        }
        if (decimals_ > 18) revert OracleDecimalsUnsupported(decimals_);
        feed = feed_;
        heartbeat = heartbeat_;
        feedDecimals = decimals_;
        sequencerFeed = sequencerFeed_;
        gracePeriod = gracePeriod_;
        _scale = 10 ** (18 - decimals_);
    }

    /// @inheritdoc IPriceOracle
    function price() public view returns (uint256 wad) {
        if (address(sequencerFeed) != address(0)) _checkSequencer();

        uint80 roundId;
        int256 answer;
        uint256 updatedAt;
        uint80 answeredInRound;
        try feed.latestRoundData() returns (uint80 r, int256 a, uint256, uint256 u, uint80 air) {
            (roundId, answer, updatedAt, answeredInRound) = (r, a, u, air);
        } catch {
            revert OracleFeedReverted(address(feed));
        }

        if (answer <= 0) revert OracleAnswerNotPositive(answer);
        if (updatedAt == 0) revert OracleRoundNotUpdated(roundId);
        if (updatedAt > block.timestamp) revert OracleUpdatedInFuture(updatedAt, block.timestamp);
        if (block.timestamp - updatedAt > heartbeat) revert OracleStale(updatedAt, heartbeat, block.timestamp);
        if (answeredInRound < roundId) revert OracleRoundIncomplete(roundId, answeredInRound);
        if (uint256(answer) > type(uint256).max / _scale) revert OracleAnswerTooLarge(answer);

        return uint256(answer) * _scale;
    }

    /// @inheritdoc IPriceOracle
    function tryPrice() external view returns (bool ok, uint256 wad) {
        // One source of truth: the same checks as price(), through a static self-call.
        try this.price() returns (uint256 p) {
            return (true, p);
        } catch {
            return (false, 0);
        }
    }

    /// @dev Chainlink's L2 sequencer-uptime feed: answer 0 = up, 1 = down; startedAt = when the
    ///      status last changed. Prices are refused while down and for `gracePeriod` seconds after
    ///      it came back up (inclusive), so positions can be topped up before liquidations resume.
    function _checkSequencer() private view {
        int256 status;
        uint256 startedAt;
        try sequencerFeed.latestRoundData() returns (uint80, int256 a, uint256 s, uint256, uint80) {
            (status, startedAt) = (a, s);
        } catch {
            revert SequencerStatusInvalid(address(sequencerFeed));
        }
        if (startedAt == 0 || startedAt > block.timestamp) revert SequencerStatusInvalid(address(sequencerFeed));
        if (status != 0) revert SequencerDown(status);
        if (block.timestamp - startedAt <= gracePeriod) {
            revert SequencerGracePeriodNotOver(startedAt, gracePeriod, block.timestamp);
        }
    }
}
