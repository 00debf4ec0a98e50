// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

interface IRouterDeposit {
    function deposit(uint256 marketId, uint256 amount) external;
    function withdraw(uint256 marketId, uint256 amount) external;
}

/// @title MockERC1271Wallet
/// @notice A minimal smart-contract wallet: a signature is valid (ERC-1271) when it is an ECDSA
///         signature of the hash by the wallet's EOA owner. The owner can deposit the wallet's
///         tokens into a router market and withdraw them back to the wallet. Tests only.
contract MockERC1271Wallet is IERC1271 {
    address public immutable owner;

    error NotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        return err == ECDSA.RecoverError.NoError && signer == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    /// @notice Approves `router` for `amount` of `token` and deposits it into `marketId`.
    function deposit(address router, IERC20 token, uint256 marketId, uint256 amount) external onlyOwner {
        token.approve(router, amount);
        IRouterDeposit(router).deposit(marketId, amount);
    }

    /// @notice Withdraws `amount` of the wallet's collateral in `marketId` back to the wallet.
    function withdraw(address router, uint256 marketId, uint256 amount) external onlyOwner {
        IRouterDeposit(router).withdraw(marketId, amount);
    }
}
