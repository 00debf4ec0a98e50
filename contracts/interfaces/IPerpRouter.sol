// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPriceOracle} from "../oracle/IPriceOracle.sol";
import {MarketParams, FundingParams, CollateralParams, Order, Fill} from "../libraries/Types.sol";
import {ICollateralPool} from "./ICollateralPool.sol";

/// @title IPerpRouter
/// @notice The entry point of a perpkit deployment: markets, collateral, operators, signed orders.
interface IPerpRouter {
    /// @notice Deploys a PerpMarket and registers it with FundingRate (owner only). Parameters must be
    ///         within hard bounds and satisfy the safety envelope (see `ParamsLib.checkEnvelope`).
    function createMarket(
        IERC20 collateral,
        IPriceOracle oracle,
        MarketParams calldata params,
        FundingParams calldata funding
    ) external returns (uint256 marketId, address market);

    function marketCount() external view returns (uint256);
    function markets(uint256 marketId) external view returns (address);

    /// @notice Deposits `amount` collateral tokens of the caller into its account in `marketId`.
    function deposit(uint256 marketId, uint256 amount) external;
    /// @notice Deposits `amount` of the caller's tokens into `account`'s margin in `marketId`.
    function depositFor(uint256 marketId, address account, uint256 amount) external;
    /// @notice Withdraws `amount` collateral tokens from the caller's account to the caller.
    function withdraw(uint256 marketId, uint256 amount) external;
    /// @notice An approved operator withdraws `amount` from `account`; the tokens go to `account`.
    function withdrawFor(uint256 marketId, address account, uint256 amount) external;

    /// @notice Registers `token` as collateral of `marketId`, or updates its oracle and parameters
    ///         (owner; hard bounds in `ParamsLib`, and the oracle must price now). The first call for
    ///         a market creates its collateral pool.
    function setCollateral(uint256 marketId, IERC20 token, IPriceOracle oracle, CollateralParams calldata params)
        external;
    /// @notice The collateral pool of `marketId` (zero before its first collateral).
    function collateralPoolOf(uint256 marketId) external view returns (ICollateralPool);
    /// @notice Deposits `amount` of the caller's `token` as collateral of its account in `marketId`;
    ///         the account is credited what arrived.
    function depositCollateral(uint256 marketId, IERC20 token, uint256 amount) external;
    /// @notice Deposits `amount` of the caller's `token` as collateral of `account`.
    function depositCollateralFor(uint256 marketId, address account, IERC20 token, uint256 amount) external;
    /// @notice Withdraws `amount` of the caller's `token` collateral to the caller.
    function withdrawCollateral(uint256 marketId, IERC20 token, uint256 amount) external;
    /// @notice An approved operator withdraws `amount` of `account`'s `token`; it goes to `account`.
    function withdrawCollateralFor(uint256 marketId, address account, IERC20 token, uint256 amount) external;

    /// @notice Approves or revokes `operator` to sign orders and withdraw for the caller.
    function setOperator(address operator, bool approved) external;
    function isOperator(address account, address operator) external view returns (bool);

    /// @notice EIP-712 digest of `order` (domain `PerpRouter`, version `1`, this chain, this router).
    function hashOrder(Order calldata order) external view returns (bytes32);
    /// @notice Amount filled of an order (WAD base units); `type(uint256).max` once cancelled.
    function filled(bytes32 orderHash) external view returns (uint256);
    /// @notice Cancels one order (its trader or an operator).
    function cancelOrder(Order calldata order) external;
    /// @notice Cancels every order of the caller with `nonce <= nonce`.
    function cancelUpTo(uint256 nonce) external;

    /// @notice Settles matched fills (matcher only). Each pairs a maker and a taker order with their
    ///         signatures; the price is the maker's limit. All or nothing.
    function settle(Fill[] calldata fills) external;
}
