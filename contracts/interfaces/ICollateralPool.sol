// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPriceOracle} from "../oracle/IPriceOracle.sol";
import {CollateralParams} from "../libraries/Types.sol";

/// @title ICollateralPool
/// @notice The non-settlement collateral of one market: a registry of tokens (oracle, weight, cap,
///         liquidation discount) and each account's balances. The market counts them as margin at
///         `weight` of their oracle value; PnL, funding and fees stay in the settlement token.
interface ICollateralPool {
    /// @notice Registers `token` or updates its oracle and parameters (router only; the router
    ///         checks the bounds). At most `MAX_COLLATERALS` tokens.
    function setCollateral(address token, IPriceOracle oracle, CollateralParams calldata params) external;

    /// @notice Credits `amount` token units, already transferred in by the router, to `account`.
    function deposit(address account, address payer, address token, uint256 amount) external;

    /// @notice Pays `amount` of `account`'s `token` to `to` (router only). With an open position the
    ///         account keeps initial margin after it; a flat account in debt keeps its debt backed;
    ///         a flat account without debt can always withdraw everything, oracles up or down.
    function withdraw(address account, address to, address token, uint256 amount) external;

    /// @notice Moves collateral of `account` to `liquidator` at the liquidation discount, lowest
    ///         weight first, until `maxRepay` (WAD) of debt is paid (market only). Tokens whose oracle
    ///         fails are skipped; `clearsDebt` (the whole debt is being repaid) rounds the last unit up
    ///         so that no dust debt remains. Returns the debt repaid and whether the account still
    ///         holds any collateral.
    function seize(address account, address liquidator, uint256 maxRepay, bool clearsDebt)
        external
        returns (uint256 repaid, bool left);

    /// @notice Margin value of `account`'s collateral: sum of balance x price x weight, each rounded
    ///         down (WAD). A token whose oracle fails counts zero and clears `allPriced`.
    function valueOf(address account) external view returns (uint256 value, bool allPriced);

    /// @notice Whether `account` holds any collateral here.
    function holdsCollateral(address account) external view returns (bool);
}
