// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPriceOracle} from "../oracle/IPriceOracle.sol";
import {ICollateralPool} from "./ICollateralPool.sol";
import {MarketParams, Trade} from "../libraries/Types.sol";

/// @title IPerpMarket
/// @notice One isolated-margin perpetual market. It holds its collateral; `capital` (deposits) is
///         the senior claim, realised `pnl` the junior one, paid at the haircut `h`.
interface IPerpMarket {
    // ------------------------------------------------------------ router entry points

    /// @notice Credits `amount` collateral tokens, already transferred in by the router, to `account`.
    function deposit(address account, address payer, uint256 amount) external;

    /// @notice Pays `amount` collateral tokens of `account`'s capital to `to` (router only).
    ///         With an open position the account must stay at initial margin after it.
    function withdraw(address account, address to, uint256 amount) external;

    /// @notice Applies validated fills (router only): funding, position, fees, OI, then margin checks.
    function executeTrades(Trade[] calldata trades) external;

    /// @notice Sets risk parameters (router only; bounds and envelope checked by the router).
    function setParams(MarketParams calldata params) external;

    /// @notice Points the market at a new oracle (router only).
    function setOracle(IPriceOracle oracle) external;

    /// @notice Pauses or unpauses risk-increasing actions (router only).
    function setPaused(bool paused) external;

    /// @notice Attaches the market's collateral pool, once (router only, with the first collateral).
    function setCollateralPool(ICollateralPool pool) external;

    // ------------------------------------------------------------ collateral pool entry point

    /// @notice Health check after `account`'s collateral balance went down (collateral pool only):
    ///         initial margin with an open position (not while paused); a flat account in debt keeps
    ///         the debt backed; a flat account without debt passes without any price.
    function onCollateralWithdrawn(address account) external;

    // ------------------------------------------------------------ permissionless

    /// @notice Takes over `amount` (WAD base units) of `account`'s position at the mark price into the
    ///         caller's account, which must meet its margin after. Only below maintenance margin.
    ///         The caller receives `liquidatorShare` of the fee; negative equity left on a closed
    ///         account is bad debt, paid by the insurance fund and past it socialised by the haircut.
    ///         Refuses a flat account (`NoPosition`) and an amount of 0 or over the position.
    function liquidate(address account, uint256 amount) external;

    /// @notice Liquidates many accounts against one oracle read and one funding accrual: each
    ///         account by its amount (0 = the whole position), the positions taken over by the
    ///         caller, whose margin is checked once at the end. An account that `liquidate` would
    ///         refuse (healthy, flat or already closed earlier in the batch, the caller itself, an
    ///         amount over the position, a partial that leaves dust or stays below maintenance) is
    ///         skipped with `LiquidationSkipped(account, reason)`, so the batch never reverts
    ///         because another keeper or the account moved first. A partial that is refused still
    ///         touches the account (its funding and mark-to-market stand). Reverts only on
    ///         mismatched lengths, a failed oracle, or a caller left without margin.
    /// @return liquidated How many accounts were liquidated.
    function liquidateBatch(address[] calldata accounts, uint256[] calldata amounts)
        external
        returns (uint256 liquidated);

    /// @notice Repays up to `maxRepay` (WAD) of `account`'s settlement-token debt from the caller's
    ///         capital; the caller receives `account`'s collateral at the liquidation discount, lowest
    ///         weight first (see `ICollateralPool.seize`). Allowed when the account is in debt and
    ///         either below maintenance or flat (a flat account's debt blocks winners' profit through
    ///         the haircut). Debt left on a flat account without collateral is bad debt. The caller
    ///         must keep initial margin if it holds a position.
    function liquidateCollateral(address account, uint256 maxRepay) external;

    /// @notice Touches `account` (see `touch`), flat or not.
    function settleFunding(address account) external;

    /// @notice Touches each account: matures its vested profit, settles its funding, marks it to
    ///         market (unrealised PnL at the mark becomes pnl, the entry moves to the mark) and
    ///         pays a loss from its capital. Flat accounts with nothing warming and unknown ones are
    ///         skipped; a repeated one changes nothing. The keeper's sweep calls it for every
    ///         account with a loss, well within the warmup.
    /// @return touched How many accounts were open or had profit warming (and were touched).
    function touch(address[] calldata accounts) external returns (uint256 touched);

    // ------------------------------------------------------------ views

    function positionOf(address account) external view returns (int256 size, int256 openNotional, int256 fundingSnapshot);
    function capitalOf(address account) external view returns (uint256);
    function pnlOf(address account) external view returns (int256);
    /// @notice Maintenance equity: capital + pnl + unrealised at mark - pending funding +
    ///         collateral at weight, WAD (signed), no haircut (liquidation compares it).
    function accountValue(address account) external view returns (int256);
    /// @notice Sizes, values and maintenance requirements of `accounts`, prices read once (keepers).
    function healthOf(address[] calldata accounts)
        external
        view
        returns (int256[] memory sizes, int256[] memory values, uint256[] memory maintenance);
    /// @notice `healthOf` plus what a touch would realise now (`unsettled`: unrealised PnL at mark
    ///         less pending funding; negative = a loss the keeper's sweep must touch), prices read
    ///         once: the keeper's crank candidates (liquidation and sweep) in one call per chunk.
    function candidatesOf(address[] calldata accounts)
        external
        view
        returns (int256[] memory sizes, int256[] memory values, uint256[] memory maintenance, int256[] memory unsettled);
    function marginRequirements(address account) external view returns (uint256 initial, uint256 maintenance);
    function isLiquidatable(address account) external view returns (bool);
    function openInterest() external view returns (uint256 longs, uint256 shorts);
    function insuranceFund() external view returns (uint256);
    /// @notice `h = min(residual, matured) / matured` (WAD, 1e18 without matured profit), matured =
    ///         pnlPosTotal - pnlWarmingTotal: what withdrawals and conversions pay of matured profit.
    ///         Below 1 only with bad debt beyond the insurance fund (or an unpaid debt), once the
    ///         losers are touched.
    function haircut() external view returns (uint256);
    /// @notice `g = min(residual, pnlPosTotal) / pnlPosTotal` (WAD): what risk-increasing checks
    ///         and fees count of positive PnL, warming profit included.
    function coverage() external view returns (uint256);
    /// @notice Seconds fresh profit warms up (linearly) before it can be withdrawn.
    function warmupPeriod() external view returns (uint256);
    /// @notice The part of `account`'s positive pnl still warming up now.
    function pnlWarmingOf(address account) external view returns (uint256);
    /// @notice `account`'s pnl less its warming part (its loss, if negative).
    function pnlMaturedOf(address account) external view returns (int256);
    /// @notice The warming profit of all accounts as of their last touch.
    function pnlWarmingTotal() external view returns (uint256);
    /// @notice Cumulative loss beyond the insurance fund, socialised through the haircut (WAD).
    function badDebt() external view returns (uint256);
    function oracle() external view returns (IPriceOracle);
    /// @notice The market's pool of other collateral tokens (zero until the first is registered).
    function collateralPool() external view returns (ICollateralPool);
    function params() external view returns (MarketParams memory);
}
