// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketParams, FundingParams} from "./Types.sol";

/// @title Events
/// @notice Every event perpkit emits, for indexers, in one place.
library Events {
    // ------------------------------------------------------------ router
    event MarketCreated(uint256 indexed marketId, address indexed market, address collateral, address oracle);
    event OperatorSet(address indexed account, address indexed operator, bool approved);
    event RoleSet(bytes32 indexed role, address indexed account);
    event OrderFilled(
        bytes32 indexed makerHash,
        bytes32 indexed takerHash,
        uint256 indexed marketId,
        address maker,
        address taker,
        int256 makerDelta,
        uint256 price
    );
    event OrderCancelled(address indexed trader, bytes32 indexed orderHash);
    event NoncesCancelled(address indexed trader, uint256 minNonce);

    // ------------------------------------------------------------ market
    event Deposit(address indexed account, address indexed payer, uint256 amount, uint256 wad);
    event Withdraw(address indexed account, address indexed to, uint256 amount, uint256 wad);
    event PositionChanged(
        address indexed account,
        int256 size,
        int256 openNotional,
        uint256 price,
        int256 realizedPnl,
        uint256 fee
    );
    event FundingSettled(address indexed account, int256 payment, int256 fundingIndex);
    /// @notice A touch realised the account's unrealised PnL at `mark` (its entry moved to mark).
    event MarkedToMarket(address indexed account, int256 realized, uint256 mark);
    event ProfitRealized(address indexed account, uint256 pnl, uint256 credited, uint256 haircut);
    event Liquidation(
        address indexed account,
        address indexed liquidator,
        uint256 amount,
        uint256 markPrice,
        uint256 fee,
        uint256 liquidatorReward
    );
    /// @notice `liquidateBatch` passed over `account`; `reason` is the selector of the error a
    ///         single `liquidate` would have reverted with (`NotLiquidatable`, `NoPosition`,
    ///         `InvalidLiquidationAmount`, `SelfLiquidation`, `PositionBelowMinimum`,
    ///         `PartialLiquidationUnhealthy`).
    event LiquidationSkipped(address indexed account, bytes4 reason);
    event BadDebt(address indexed account, uint256 debt, uint256 coveredByInsurance, uint256 socialized);
    event InsuranceChanged(uint256 insurance);
    event ParamsSet(MarketParams params);
    event OracleSet(address oracle);
    event Paused(bool paused);

    // ------------------------------------------------------------ multi-collateral
    event CollateralPoolCreated(uint256 indexed marketId, address pool);
    event CollateralSet(address indexed token, address oracle, uint256 weight, uint256 liquidationDiscount, uint256 cap);
    event CollateralDeposited(address indexed account, address indexed token, address payer, uint256 amount);
    event CollateralWithdrawn(address indexed account, address indexed token, address to, uint256 amount);
    /// @notice `amount` token units of `account` went to `liquidator`, who repaid `repaid` (WAD) of its debt.
    event CollateralSeized(
        address indexed account, address indexed liquidator, address indexed token, uint256 amount, uint256 repaid, uint256 price
    );
    event DebtRepaid(address indexed account, address indexed payer, uint256 repaid, int256 pnl);

    // ------------------------------------------------------------ funding
    event MarketRegistered(uint256 indexed marketId, address market);
    event FundingParamsSet(uint256 indexed marketId, FundingParams params);
    event QuoteRecorded(uint256 indexed marketId, uint256 bid, uint256 ask, uint256 index, int256 premium, int256 ma30);
    event FundingCranked(uint256 indexed marketId, int256 fundingIndex, int256 rate, uint256 index, uint256 markPrice);
}
