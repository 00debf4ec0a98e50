// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Custom errors of PerpGateway (periphery). In a batch their selectors are the `reason` of
// `IntentSkipped(digest, reason)`; the gateway also reuses `InvalidSignature`, `EmptyBatch` and
// `ZeroAddress` of `contracts/libraries/Errors.sol`.

/// @notice The intent's `deadline` is before the block's timestamp.
error IntentExpired(uint256 deadline, uint256 blockTimestamp);
/// @notice `nonce` of `trader` was already used (executed or cancelled).
error NonceAlreadyUsed(address trader, uint256 nonce);
/// @notice Only the gateway itself may call its per-item entry points (atomic self-calls).
error OnlyGateway(address caller);
/// @notice `cancelNonces` with an empty mask.
error NoNoncesToCancel();
