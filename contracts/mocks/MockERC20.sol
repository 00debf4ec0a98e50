// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import "../libraries/Errors.sol";

/// @title MockERC20
/// @notice A test collateral token: OpenZeppelin ERC-20 with EIP-2612 permit and configurable
///         decimals (6 for a USDC-like, 18 for a FRAX-like token). Anyone may mint, but only on a
///         local development chain (chain id 31337), so a copy deployed elsewhere is worthless.
contract MockERC20 is ERC20, ERC20Permit {
    /// @notice The only chain on which `mint` works.
    uint256 public constant LOCAL_CHAIN_ID = 31337;

    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _decimals = decimals_;
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` to `to`; local chains only.
    function mint(address to, uint256 amount) external {
        if (block.chainid != LOCAL_CHAIN_ID) revert MintingDisabled(block.chainid);
        _mint(to, amount);
    }
}
