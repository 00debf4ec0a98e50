// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Every custom error of perpkit, in one place, each carrying the values that failed.

// ---------------------------------------------------------------- common
/// @notice An address argument that must be set was zero.
error ZeroAddress();

// ---------------------------------------------------------------- oracle
/// @notice The feed's answer is zero or negative.
error OracleAnswerNotPositive(int256 answer);
/// @notice The feed's answer does not fit in WAD after scaling.
error OracleAnswerTooLarge(int256 answer);
/// @notice The round was never updated (`updatedAt == 0`).
error OracleRoundNotUpdated(uint80 roundId);
/// @notice The round claims to be updated after the current block.
error OracleUpdatedInFuture(uint256 updatedAt, uint256 blockTimestamp);
/// @notice The latest answer is older than the feed's heartbeat.
error OracleStale(uint256 updatedAt, uint256 heartbeat, uint256 blockTimestamp);
/// @notice The answer was carried over from an earlier round (`answeredInRound < roundId`).
error OracleRoundIncomplete(uint80 roundId, uint80 answeredInRound);
/// @notice The feed reverted or returned malformed data.
error OracleFeedReverted(address feed);
/// @notice The feed reports more decimals than WAD (18) can represent exactly.
error OracleDecimalsUnsupported(uint8 decimals);
/// @notice A heartbeat of zero or beyond `maxHeartbeat`.
error OracleHeartbeatOutOfBounds(uint256 heartbeat, uint256 maxHeartbeat);
/// @notice A sequencer grace period beyond `maxGracePeriod`.
error OracleGracePeriodOutOfBounds(uint256 gracePeriod, uint256 maxGracePeriod);
/// @notice The L2 sequencer-uptime feed reports the sequencer down (`answer != 0`).
error SequencerDown(int256 answer);
/// @notice The sequencer came back up at `upSince`; prices are refused until the grace period passed.
error SequencerGracePeriodNotOver(uint256 upSince, uint256 gracePeriod, uint256 blockTimestamp);
/// @notice The sequencer-uptime feed has no valid round (`startedAt == 0`) or reverted.
error SequencerStatusInvalid(address sequencerFeed);

// ---------------------------------------------------------------- test tokens
/// @notice Free minting exists only on local development chains.
error MintingDisabled(uint256 chainId);
