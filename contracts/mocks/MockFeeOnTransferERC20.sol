// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockFeeOnTransferERC20
/// @notice A test token that burns 1 % of every transfer between two holders (mints and burns are
///         exempt), so the recipient gets `amount - amount / 100`. Anyone may mint. Tests only.
contract MockFeeOnTransferERC20 is ERC20 {
    /// @notice Transfer fee in basis points (100 = 1 %).
    uint256 public constant FEE_BPS = 100;

    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev A transfer moves `amount - fee` to `to` and burns `fee` from `from`.
    function _update(address from, address to, uint256 amount) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, amount);
            return;
        }
        uint256 fee = amount * FEE_BPS / 10_000;
        super._update(from, to, amount - fee);
        if (fee != 0) super._update(from, address(0), fee);
    }
}
