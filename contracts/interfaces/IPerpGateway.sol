// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A trader's signed wish to move `amount` of a market's collateral token (token units)
///         from its wallet into its margin in `marketId`. EIP-712 type
///         `Deposit(address trader,uint256 marketId,uint256 amount,uint256 nonce,uint256 deadline)`.
struct DepositIntent {
    address trader;
    uint256 marketId;
    uint256 amount;
    uint256 nonce;
    uint256 deadline;
}

/// @notice A trader's signed wish to withdraw `amount` (token units) of its margin in `marketId`
///         to `to`. EIP-712 type
///         `Withdraw(address trader,uint256 marketId,uint256 amount,address to,uint256 nonce,uint256 deadline)`.
struct WithdrawIntent {
    address trader;
    uint256 marketId;
    uint256 amount;
    address to;
    uint256 nonce;
    uint256 deadline;
}

/// @notice An EIP-2612 permit of the trader for the gateway (`spender`), on the market's collateral
///         token. `deadline == 0` means "no permit": the item relies on an existing allowance.
struct PermitData {
    uint256 value;
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}

struct SignedDeposit {
    DepositIntent intent;
    bytes signature;
    PermitData permit;
}

struct SignedWithdraw {
    WithdrawIntent intent;
    bytes signature;
}

/// @title IPerpGateway
/// @notice Periphery of one PerpRouter: executes batches of signed deposit and withdrawal intents,
///         so that a relayer pays the gas of hundreds of traders in one transaction. A bad item is
///         skipped (`IntentSkipped`), never a revert of the batch, and nothing of it moves.
interface IPerpGateway {
    /// @notice The item with this EIP-712 digest was executed: its nonce is now used.
    event IntentExecuted(bytes32 indexed digest);
    /// @notice The item with this digest was skipped; `reason` is the selector of the custom error
    ///         that refused it (the gateway's own, or the router's, market's or token's revert).
    event IntentSkipped(bytes32 indexed digest, bytes4 reason);
    /// @notice `trader` cancelled the nonces set in `mask` of bitmap word `word`.
    event NoncesCancelled(address indexed trader, uint256 word, uint256 mask);

    function router() external view returns (address);

    /// @notice Executes each signed deposit: permit (if any, a failing one ignored), then the
    ///         trader's tokens go through the gateway into `router.depositFor(marketId, trader, amount)`.
    function executeDeposits(SignedDeposit[] calldata items) external;
    /// @notice Executes each signed withdrawal through `router.withdrawFor` (the trader must have
    ///         approved the gateway as its operator) and pays `to`.
    function executeWithdrawals(SignedWithdraw[] calldata items) external;

    function hashDeposit(DepositIntent calldata intent) external view returns (bytes32);
    function hashWithdraw(WithdrawIntent calldata intent) external view returns (bytes32);
    function domainSeparator() external view returns (bytes32);

    /// @notice Whether `trader`'s `nonce` is used (executed or cancelled).
    function nonceUsed(address trader, uint256 nonce) external view returns (bool);
    /// @notice Bit `i` of word `word` is nonce `word * 256 + i` of `trader`.
    function nonceBitmap(address trader, uint256 word) external view returns (uint256);
    /// @notice Cancels one unused nonce of the caller.
    function cancelNonce(uint256 nonce) external;
    /// @notice Cancels every nonce of the caller set in `mask` of word `word` (already used ones too).
    function cancelNonces(uint256 word, uint256 mask) external;
}
