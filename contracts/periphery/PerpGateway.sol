// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IPerpRouter} from "../interfaces/IPerpRouter.sol";
import {
    IPerpGateway, DepositIntent, WithdrawIntent, PermitData, SignedDeposit, SignedWithdraw
} from "../interfaces/IPerpGateway.sol";
import {EmptyBatch, InvalidSignature, ZeroAddress} from "../libraries/Errors.sol";
import {IntentExpired, NonceAlreadyUsed, OnlyGateway, NoNoncesToCancel} from "./GatewayErrors.sol";

interface IMarketCollateral {
    function collateral() external view returns (address);
}

/// @title PerpGateway
/// @notice Batched entry and exit for one PerpRouter: traders sign `Deposit` / `Withdraw` intents
///         (EIP-712, domain `PerpGateway` / `1`, bound to the chain id and this contract), anyone
///         (a relayer) submits hundreds at once and pays the gas.
///
///         Deposit: the trader approves the gateway for the market's collateral token (or signs an
///         EIP-2612 permit carried by the item). The gateway pulls `amount` from the trader and
///         calls `router.depositFor(marketId, trader, amount)`, which takes it from the gateway
///         into the market. The two transfers are one atomic self-call: both happen or neither.
///
///         Withdraw: the trader approves the gateway once as its operator on the router
///         (`router.setOperator(gateway, true)`). The gateway calls `router.withdrawFor`, which
///         applies every rule of a direct withdrawal (margin after, matured PnL, oracle, pause) and
///         pays the *trader*. When the signed `to` is another address, the gateway then moves the
///         same amount from the trader to `to` with its token allowance (the deposit allowance),
///         in the same atomic self-call; without that allowance the item is skipped.
///
///         A bad item (expired, nonce used, bad signature, unknown market, refused by the token or
///         the router) is skipped with `IntentSkipped(digest, reason)`, `reason` the selector of
///         the custom error; nothing of it moves and its nonce stays free. The nonce is set before
///         the external calls (checks-effects-interactions) and cleared again if they revert.
///
///         Gas: the gateway should hold one unit of dust of each collateral token (anyone may send
///         it). Without it the gateway's token balance goes 0 -> amount -> 0 in every deposit, a
///         20,000-gas store refunded only up to the EIP-3529 cap.
///
///         Not supported: fee-on-transfer collateral through the gateway (the router's transfer
///         out of the gateway would be short; such items are skipped with the token's error), and
///         the collateral pool's other tokens (to come as a second pair of types with a `token`).
contract PerpGateway is IPerpGateway, EIP712 {
    using SafeERC20 for IERC20;

    bytes32 public constant DEPOSIT_TYPEHASH =
        keccak256("Deposit(address trader,uint256 marketId,uint256 amount,uint256 nonce,uint256 deadline)");
    bytes32 public constant WITHDRAW_TYPEHASH = keccak256(
        "Withdraw(address trader,uint256 marketId,uint256 amount,address to,uint256 nonce,uint256 deadline)"
    );

    IPerpRouter internal immutable _router;

    /// @inheritdoc IPerpGateway
    mapping(address trader => mapping(uint256 word => uint256 bits)) public nonceBitmap;

    /// @dev The market of the current run of items (consecutive items of one market share it).
    struct Run {
        uint256 marketId;
        address token;
        bytes4 reason; // non-zero: the market cannot be used (unknown), every item of it is skipped
        bool resolved;
    }

    constructor(IPerpRouter router_) EIP712("PerpGateway", "1") {
        if (address(router_) == address(0)) revert ZeroAddress();
        _router = router_;
    }

    /// @inheritdoc IPerpGateway
    function router() external view returns (address) {
        return address(_router);
    }

    // ================================================================== batches

    /// @inheritdoc IPerpGateway
    function executeDeposits(SignedDeposit[] calldata items) external {
        uint256 n = items.length;
        if (n == 0) revert EmptyBatch();
        Run memory run;
        for (uint256 i; i < n; ++i) {
            SignedDeposit calldata item = items[i];
            DepositIntent calldata d = item.intent;
            address trader = d.trader;
            uint256 nonce = d.nonce;
            bytes32 digest = _hashTypedDataV4(_depositStructHash(d));
            bytes4 reason = _precheck(trader, nonce, d.deadline, digest, item.signature);
            if (reason == 0) reason = _resolve(run, d.marketId, true);
            if (reason != 0) {
                emit IntentSkipped(digest, reason);
                continue;
            }
            uint256 bit = _useNonce(trader, nonce);
            PermitData calldata p = item.permit;
            if (p.deadline != 0) {
                // A permit front-run (already consumed) reverts here: ignored, the allowance it
                // set is there; a permit that never took effect shows as the transfer's error.
                try IERC20Permit(run.token).permit(trader, address(this), p.value, p.deadline, p.v, p.r, p.s) {} catch {}
            }
            try this.depositOne(run.token, d.marketId, trader, d.amount) {
                emit IntentExecuted(digest);
            } catch (bytes memory err) {
                _freeNonce(trader, nonce, bit);
                emit IntentSkipped(digest, _selector(err));
            }
        }
    }

    /// @inheritdoc IPerpGateway
    function executeWithdrawals(SignedWithdraw[] calldata items) external {
        uint256 n = items.length;
        if (n == 0) revert EmptyBatch();
        Run memory run;
        for (uint256 i; i < n; ++i) {
            SignedWithdraw calldata item = items[i];
            WithdrawIntent calldata w = item.intent;
            address trader = w.trader;
            address to = w.to;
            uint256 nonce = w.nonce;
            bytes32 digest = _hashTypedDataV4(_withdrawStructHash(w));
            bytes4 reason = _precheck(trader, nonce, w.deadline, digest, item.signature);
            if (reason == 0 && to == address(0)) reason = ZeroAddress.selector;
            if (reason == 0 && to != trader) reason = _resolve(run, w.marketId, false);
            if (reason != 0) {
                emit IntentSkipped(digest, reason);
                continue;
            }
            uint256 bit = _useNonce(trader, nonce);
            bool ok;
            bytes memory err;
            if (to == trader) {
                // The router checks the gateway is the trader's operator and pays the trader.
                try _router.withdrawFor(w.marketId, trader, w.amount) {
                    ok = true;
                } catch (bytes memory e) {
                    err = e;
                }
            } else {
                try this.withdrawOneTo(run.token, w.marketId, trader, w.amount, to) {
                    ok = true;
                } catch (bytes memory e) {
                    err = e;
                }
            }
            if (ok) {
                emit IntentExecuted(digest);
            } else {
                _freeNonce(trader, nonce, bit);
                emit IntentSkipped(digest, _selector(err));
            }
        }
    }

    /// @notice One deposit, atomic: `amount` from `trader` to the gateway, then into the market
    ///         through the router. Only the gateway itself (from `executeDeposits`).
    function depositOne(address token, uint256 marketId, address trader, uint256 amount) external {
        if (msg.sender != address(this)) revert OnlyGateway(msg.sender);
        IERC20(token).safeTransferFrom(trader, address(this), amount);
        _router.depositFor(marketId, trader, amount);
    }

    /// @notice One withdrawal to another address, atomic: the router pays `trader`, then `amount`
    ///         goes from `trader` to `to` with the gateway's allowance. Only the gateway itself.
    function withdrawOneTo(address token, uint256 marketId, address trader, uint256 amount, address to) external {
        if (msg.sender != address(this)) revert OnlyGateway(msg.sender);
        _router.withdrawFor(marketId, trader, amount);
        IERC20(token).safeTransferFrom(trader, to, amount);
    }

    // ================================================================== nonces

    /// @inheritdoc IPerpGateway
    function nonceUsed(address trader, uint256 nonce) external view returns (bool) {
        return nonceBitmap[trader][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IPerpGateway
    function cancelNonce(uint256 nonce) external {
        uint256 word = nonce >> 8;
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = nonceBitmap[msg.sender][word];
        if (bits & bit != 0) revert NonceAlreadyUsed(msg.sender, nonce);
        nonceBitmap[msg.sender][word] = bits | bit;
        emit NoncesCancelled(msg.sender, word, bit);
    }

    /// @inheritdoc IPerpGateway
    function cancelNonces(uint256 word, uint256 mask) external {
        if (mask == 0) revert NoNoncesToCancel();
        nonceBitmap[msg.sender][word] |= mask;
        emit NoncesCancelled(msg.sender, word, mask);
    }

    // ================================================================== hashing

    /// @inheritdoc IPerpGateway
    function hashDeposit(DepositIntent calldata intent) external view returns (bytes32) {
        return _hashTypedDataV4(_depositStructHash(intent));
    }

    /// @inheritdoc IPerpGateway
    function hashWithdraw(WithdrawIntent calldata intent) external view returns (bytes32) {
        return _hashTypedDataV4(_withdrawStructHash(intent));
    }

    /// @inheritdoc IPerpGateway
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev `keccak256(abi.encode(DEPOSIT_TYPEHASH, intent))` from calldata (five static words),
    ///      the address checked canonical as the ABI decoder would.
    function _depositStructHash(DepositIntent calldata d) private pure returns (bytes32 h) {
        bytes32 typeHash = DEPOSIT_TYPEHASH;
        assembly ("memory-safe") {
            if shr(160, calldataload(d)) { revert(0, 0) }
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), d, 0xa0)
            h := keccak256(m, 0xc0)
        }
    }

    /// @dev `keccak256(abi.encode(WITHDRAW_TYPEHASH, intent))` from calldata (six static words).
    function _withdrawStructHash(WithdrawIntent calldata w) private pure returns (bytes32 h) {
        bytes32 typeHash = WITHDRAW_TYPEHASH;
        assembly ("memory-safe") {
            if or(shr(160, calldataload(w)), shr(160, calldataload(add(w, 0x60)))) { revert(0, 0) }
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), w, 0xc0)
            h := keccak256(m, 0xe0)
        }
    }

    // ================================================================== internals

    /// @dev Zero when the item may go ahead, else the selector of why not. Reads only.
    function _precheck(address trader, uint256 nonce, uint256 deadline, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bytes4)
    {
        if (block.timestamp > deadline) return IntentExpired.selector;
        if (nonceBitmap[trader][nonce >> 8] & (1 << (nonce & 0xff)) != 0) return NonceAlreadyUsed.selector;
        if (!_isValidSigner(trader, digest, signature)) return InvalidSignature.selector;
        return 0;
    }

    function _useNonce(address trader, uint256 nonce) private returns (uint256 bit) {
        bit = 1 << (nonce & 0xff);
        nonceBitmap[trader][nonce >> 8] |= bit;
    }

    function _freeNonce(address trader, uint256 nonce, uint256 bit) private {
        nonceBitmap[trader][nonce >> 8] &= ~bit;
    }

    /// @dev The collateral token of `marketId`, read once per run of consecutive items of one
    ///      market; for deposits the router is approved for it (once, unlimited).
    function _resolve(Run memory run, uint256 marketId, bool forDeposit) private returns (bytes4) {
        if (run.resolved && run.marketId == marketId) return run.reason;
        (run.marketId, run.resolved, run.reason, run.token) = (marketId, true, 0, address(0));
        try _router.markets(marketId) returns (address market) {
            address token = IMarketCollateral(market).collateral();
            run.token = token;
            if (forDeposit && IERC20(token).allowance(address(this), address(_router)) < type(uint128).max) {
                IERC20(token).forceApprove(address(_router), type(uint256).max);
            }
        } catch (bytes memory err) {
            run.reason = _selector(err);
            if (run.reason == 0) run.reason = bytes4(0xffffffff);
        }
        return run.reason;
    }

    /// @dev The trader itself (EOA through ECDSA, which rejects a high `s`; or an ERC-1271 wallet),
    ///      or an operator the trader approved on the router.
    function _isValidSigner(address trader, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address signer, ECDSA.RecoverError err) = _tryRecover(digest, signature);
        bool recovered = err == ECDSA.RecoverError.NoError;
        if (recovered && signer == trader) return true;
        if (trader.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(trader, digest, signature)) {
            return true;
        }
        return recovered && _router.isOperator(trader, signer);
    }

    /// @dev `ECDSA.tryRecover` of a 65-byte `r, s, v` signature read from calldata.
    function _tryRecover(bytes32 digest, bytes calldata signature) private pure returns (address, ECDSA.RecoverError) {
        if (signature.length != 65) return (address(0), ECDSA.RecoverError.InvalidSignatureLength);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        return (signer, err);
    }

    /// @dev The first four bytes of revert data (zero when shorter: an out-of-gas or bare revert).
    function _selector(bytes memory err) private pure returns (bytes4 s) {
        if (err.length >= 4) {
            assembly ("memory-safe") {
                s := and(mload(add(err, 0x20)), shl(224, 0xffffffff))
            }
        }
    }
}
