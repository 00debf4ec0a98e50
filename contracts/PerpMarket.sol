// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IPerpMarket} from "./interfaces/IPerpMarket.sol";
import {IFundingRate} from "./interfaces/IFundingRate.sol";
import {IPriceOracle} from "./oracle/IPriceOracle.sol";
import {MarketParams, Trade} from "./libraries/Types.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {Events} from "./libraries/Events.sol";
import "./libraries/Errors.sol";

/// @title PerpMarket
/// @notice One isolated-margin perpetual market holding its own collateral.
///
///         Accounting (all WAD): `vault` = tokens held; `capitalTotal` = sum of deposits net of
///         settled losses (senior); `insurance`; positive realised `pnl` is junior and is paid out at
///         the haircut `h = min(residual, pnlPosTotal) / pnlPosTotal`, `residual = vault - capitalTotal
///         - insurance`. A realised loss is paid from the loser's capital at once; what capital cannot
///         cover is debt, which lowers `h` until the insurance fund pays it (no ADL).
///
///         Every state-changing function runs: checks, accrue, effects, health check, emit, transfer.
contract PerpMarket is IPerpMarket {
    using SafeERC20 for IERC20;
    using FixedPointMath for uint256;
    using FixedPointMath for int256;

    uint256 private constant WAD = 1e18;
    int256 private constant WAD_I = 1e18;
    int256 private constant INDEX_SCALE = 1e27;

    struct Account {
        uint128 capital; // slot 0
        int128 pnl;
        int128 size; // slot 1
        int128 openNotional; // sum of signed entry notionals still open
        int256 fundingSnapshot; // slot 2
    }

    /// @dev Prices read once per call: index from the oracle, mark and funding index from FundingRate.
    struct Prices {
        uint256 index;
        uint256 mark;
        int256 cumulative;
    }

    address public immutable router;
    IFundingRate public immutable fundingRate;
    uint256 public immutable marketId;
    IERC20 public immutable collateral;
    /// @notice 10 ** (18 - collateral decimals): token amount x scale = WAD, exactly.
    uint256 public immutable collateralScale;

    MarketParams internal _params;
    /// @inheritdoc IPerpMarket
    IPriceOracle public oracle;
    bool public paused;

    uint128 public vault;
    uint128 public capitalTotal;
    uint128 internal _insurance;
    uint128 public pnlPosTotal;
    uint128 internal _longs;
    uint128 internal _shorts;

    mapping(address => Account) internal _accounts;

    constructor(
        address router_,
        IFundingRate fundingRate_,
        uint256 marketId_,
        IERC20 collateral_,
        IPriceOracle oracle_,
        MarketParams memory params_
    ) {
        if (router_ == address(0) || address(collateral_) == address(0) || address(oracle_) == address(0)) {
            revert ZeroAddress();
        }
        uint8 decimals = IERC20Metadata(address(collateral_)).decimals();
        if (decimals > 18) revert CollateralDecimalsUnsupported(decimals);
        router = router_;
        fundingRate = fundingRate_;
        marketId = marketId_;
        collateral = collateral_;
        collateralScale = 10 ** (18 - decimals);
        oracle = oracle_;
        _params = params_;
    }

    modifier onlyRouter() {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        _;
    }

    // ================================================================== router entry points

    /// @inheritdoc IPerpMarket
    function deposit(address account, address payer, uint256 amount) external onlyRouter {
        if (amount == 0) revert ZeroAmount();
        uint256 wad = amount * collateralScale;
        Account storage a = _accounts[account];
        a.capital = (a.capital + wad).toUint128();
        capitalTotal = (capitalTotal + wad).toUint128();
        vault = (vault + wad).toUint128();
        _settleLoss(a);
        emit Events.Deposit(account, payer, amount, wad);
    }

    /// @inheritdoc IPerpMarket
    function withdraw(address account, address to, uint256 amount) external onlyRouter {
        if (amount == 0) revert ZeroAmount();
        Account storage a = _accounts[account];
        bool open = a.size != 0;
        // A flat account needs no price: it can always leave, oracle up or down.
        if (open && paused) revert MarketPaused(marketId);

        Prices memory pr;
        if (open) {
            pr = _accruePrices();
            _settleFunding(account, a, pr.cumulative);
            _settleLoss(a);
        }

        uint256 wad = amount * collateralScale;
        if (wad > a.capital && a.pnl > 0) _realizeProfit(account, a, wad - a.capital);
        if (wad > a.capital) revert InsufficientCapital(account, wad, a.capital);
        a.capital -= uint128(wad);
        capitalTotal -= uint128(wad);
        vault -= uint128(wad);

        if (open) _requireMargin(account, a, pr.mark, true);
        emit Events.Withdraw(account, to, amount, wad);
        collateral.safeTransfer(to, amount);
    }

    /// @inheritdoc IPerpMarket
    function executeTrades(Trade[] calldata trades) external onlyRouter {
        Prices memory pr = _accruePrices();
        MarketParams memory p = _params;
        for (uint256 i; i < trades.length; ++i) {
            Trade calldata t = trades[i];
            _checkBand(t.price, pr.index, p.priceBand);
            (uint128 longsBefore, uint128 shortsBefore) = (_longs, _shorts);
            bool makerUp = _applyTrade(t.maker, t.makerDelta, t.price, p.makerFee, t.makerReduceOnly, pr.cumulative, p);
            bool takerUp = _applyTrade(t.taker, -t.makerDelta, t.price, p.takerFee, t.takerReduceOnly, pr.cumulative, p);
            _checkOpenInterest(longsBefore, shortsBefore, p.maxOpenInterest);
            _requireMargin(t.maker, _accounts[t.maker], pr.mark, makerUp);
            _requireMargin(t.taker, _accounts[t.taker], pr.mark, takerUp);
        }
    }

    /// @inheritdoc IPerpMarket
    function setParams(MarketParams calldata params_) external onlyRouter {
        _params = params_;
        emit Events.ParamsSet(params_);
    }

    /// @inheritdoc IPerpMarket
    function setOracle(IPriceOracle oracle_) external onlyRouter {
        if (address(oracle_) == address(0)) revert ZeroAddress();
        oracle = oracle_;
        emit Events.OracleSet(address(oracle_));
    }

    /// @inheritdoc IPerpMarket
    function setPaused(bool paused_) external onlyRouter {
        paused = paused_;
        emit Events.Paused(paused_);
    }

    // ================================================================== permissionless

    /// @inheritdoc IPerpMarket
    function liquidate(address account, uint256 amount) external {
        // checks
        if (account == msg.sender) revert SelfLiquidation(account);
        Account storage a = _accounts[account];
        int256 size = a.size;
        if (amount == 0 || amount > size.abs()) revert InvalidLiquidationAmount(amount, size);

        // accrue
        Prices memory pr = _accruePrices();
        _settleFunding(account, a, pr.cumulative);
        _settleLoss(a);
        int256 value = _value(a, pr.mark, _haircut());
        uint256 maintenance = _notional(size, pr.mark).mulWadUp(_params.maintenanceMarginRatio);
        if (value >= int256(maintenance)) revert NotLiquidatable(account, value, maintenance);

        // effects: the liquidator takes over `amount` at the mark price
        MarketParams memory p = _params;
        uint256 fee = _liquidationFee(amount, size, value, pr.mark, p.liquidationFee);
        int256 delta = size > 0 ? -int256(amount) : int256(amount);
        _applyTrade(account, delta, pr.mark, 0, false, pr.cumulative, p);
        bool liquidatorUp = _applyTradeUnpaused(msg.sender, -delta, pr.mark, pr.cumulative, p);

        uint256 reward;
        if (fee > 0) {
            fee = _collectFee(a, fee);
            reward = fee.mulWadDown(p.liquidatorShare);
            Account storage l = _accounts[msg.sender];
            l.capital = (l.capital + reward).toUint128();
            capitalTotal = (capitalTotal + reward).toUint128();
            _insurance = (_insurance + fee - reward).toUint128();
        }
        if (a.size == 0 && a.pnl < 0) _absorbBadDebt(account, a);

        // health check (the liquidated account needs none: it only lost risk)
        _requireMargin(msg.sender, _accounts[msg.sender], pr.mark, liquidatorUp);

        emit Events.Liquidation(account, msg.sender, amount, pr.mark, fee, reward);
        emit Events.InsuranceChanged(_insurance);
    }

    /// @inheritdoc IPerpMarket
    function settleFunding(address account) external {
        Account storage a = _accounts[account];
        Prices memory pr = _accruePrices();
        _settleFunding(account, a, pr.cumulative);
        _settleLoss(a);
    }

    // ================================================================== views

    /// @inheritdoc IPerpMarket
    function positionOf(address account) external view returns (int256 size, int256 openNotional, int256 fundingSnapshot) {
        Account storage a = _accounts[account];
        return (a.size, a.openNotional, a.fundingSnapshot);
    }

    /// @inheritdoc IPerpMarket
    function capitalOf(address account) external view returns (uint256) {
        return _accounts[account].capital;
    }

    /// @inheritdoc IPerpMarket
    function pnlOf(address account) external view returns (int256) {
        return _accounts[account].pnl;
    }

    /// @notice The whole account in one call (capital, pnl, size, openNotional, fundingSnapshot).
    function accountOf(address account) external view returns (Account memory) {
        return _accounts[account];
    }

    /// @inheritdoc IPerpMarket
    function accountValue(address account) public view returns (int256) {
        Account storage a = _accounts[account];
        if (a.size == 0) return int256(uint256(a.capital)) + _effective(a.pnl, _haircut());
        (uint256 mark, int256 cumulative) = _viewPrices();
        return _valueWithPending(a, mark, cumulative, _haircut());
    }

    /// @inheritdoc IPerpMarket
    /// @dev Reverts like `accountValue` when the oracle cannot price.
    function healthOf(address[] calldata accounts)
        external
        view
        returns (int256[] memory sizes, int256[] memory values, uint256[] memory maintenance)
    {
        (uint256 mark, int256 cumulative) = _viewPrices();
        uint256 h = _haircut();
        uint256 mmr = _params.maintenanceMarginRatio;
        uint256 n = accounts.length;
        (sizes, values, maintenance) = (new int256[](n), new int256[](n), new uint256[](n));
        for (uint256 i; i < n; ++i) {
            Account storage a = _accounts[accounts[i]];
            sizes[i] = a.size;
            values[i] = _valueWithPending(a, mark, cumulative, h);
            maintenance[i] = a.size == 0 ? 0 : _notional(a.size, mark).mulWadUp(mmr);
        }
    }

    /// @inheritdoc IPerpMarket
    function marginRequirements(address account) public view returns (uint256 initial, uint256 maintenance) {
        int256 size = _accounts[account].size;
        if (size == 0) return (0, 0);
        (uint256 mark,) = _viewPrices();
        uint256 notional = _notional(size, mark);
        return (notional.mulWadUp(_params.initialMarginRatio), notional.mulWadUp(_params.maintenanceMarginRatio));
    }

    /// @inheritdoc IPerpMarket
    function isLiquidatable(address account) external view returns (bool) {
        if (_accounts[account].size == 0) return false;
        (, uint256 maintenance) = marginRequirements(account);
        return accountValue(account) < int256(maintenance);
    }

    /// @inheritdoc IPerpMarket
    function openInterest() external view returns (uint256 longs, uint256 shorts) {
        return (_longs, _shorts);
    }

    /// @inheritdoc IPerpMarket
    function insuranceFund() external view returns (uint256) {
        return _insurance;
    }

    /// @inheritdoc IPerpMarket
    function haircut() external view returns (uint256) {
        return _haircut();
    }

    /// @inheritdoc IPerpMarket
    function params() external view returns (MarketParams memory) {
        return _params;
    }

    // ================================================================== internals: trading

    /// @dev Funding, position, fee and loss settlement for one side of a fill; returns whether the
    ///      change increased risk (|size| grew or the sign flipped).
    function _applyTrade(
        address account,
        int256 delta,
        uint256 price,
        uint256 feeRate,
        bool reduceOnly,
        int256 cumulative,
        MarketParams memory p
    ) private returns (bool riskIncreasing) {
        Account storage a = _accounts[account];
        int256 oldSize = a.size;
        int256 newSize = oldSize + delta;
        riskIncreasing = _increasesRisk(oldSize, newSize);
        if (reduceOnly && riskIncreasing) revert ReduceOnlyViolated(account, oldSize, delta);
        if (riskIncreasing && paused) revert MarketPaused(marketId);
        _trade(account, a, oldSize, delta, price, feeRate, cumulative, p.minPositionSize);
    }

    /// @dev A liquidator's side: liquidations stay open while the market is paused.
    function _applyTradeUnpaused(address account, int256 delta, uint256 price, int256 cumulative, MarketParams memory p)
        private
        returns (bool riskIncreasing)
    {
        Account storage a = _accounts[account];
        int256 oldSize = a.size;
        int256 newSize = oldSize + delta;
        riskIncreasing = _increasesRisk(oldSize, newSize);
        _trade(account, a, oldSize, delta, price, 0, cumulative, p.minPositionSize);
    }

    /// @dev |size| grows, or the sign flips (a close to zero is no flip).
    function _increasesRisk(int256 oldSize, int256 newSize) private pure returns (bool) {
        return newSize.abs() > oldSize.abs() || (newSize != 0 && (oldSize ^ newSize) < 0);
    }

    function _trade(
        address account,
        Account storage a,
        int256 oldSize,
        int256 delta,
        uint256 price,
        uint256 feeRate,
        int256 cumulative,
        uint256 minPositionSize
    ) private {
        _settleFunding(account, a, cumulative);
        int256 newSize = oldSize + delta;
        if (newSize != 0 && newSize.abs() < minPositionSize) {
            revert PositionBelowMinimum(account, newSize, minPositionSize);
        }
        int256 realized = _updatePosition(a, oldSize, delta, price);
        if (realized != 0) _setPnl(a, a.pnl + realized);
        _settleLoss(a);
        uint256 fee = feeRate == 0 ? 0 : delta.abs().mulWadUp(price).mulWadUp(feeRate);
        if (fee != 0) _insurance = (_insurance + _collectFee(a, fee)).toUint128();
        _updateOpenInterest(oldSize, newSize);
        emit Events.PositionChanged(account, newSize, a.openNotional, price, realized, fee);
    }

    /// @dev Opening adds `delta x price` to the open notional, rounded toward +inf (a long pays the
    ///      extra wei, a short's entry is the lower one). Closing realises `exit - basis`: the exit
    ///      value floored, the basis share ceiled, so the realised PnL is rounded down.
    function _updatePosition(Account storage a, int256 oldSize, int256 delta, uint256 price)
        private
        returns (int256 realized)
    {
        int256 openNotional = a.openNotional;
        int256 newSize = oldSize + delta;
        int256 px = int256(price);
        if (oldSize == 0 || (oldSize > 0) == (delta > 0)) {
            openNotional += delta.mulDivCeil(px, WAD_I);
        } else {
            uint256 closing = delta.abs().min(oldSize.abs());
            int256 basis = openNotional.mulDivCeil(int256(closing), int256(oldSize.abs()));
            int256 exitSize = oldSize > 0 ? int256(closing) : -int256(closing);
            realized = exitSize.mulDivFloor(px, WAD_I) - basis;
            openNotional -= basis;
            if (delta.abs() > oldSize.abs()) openNotional += newSize.mulDivCeil(px, WAD_I);
        }
        a.size = newSize.toInt128();
        a.openNotional = openNotional.toInt128();
    }

    function _updateOpenInterest(int256 oldSize, int256 newSize) private {
        if (oldSize > 0) _longs -= uint128(uint256(oldSize));
        else if (oldSize < 0) _shorts -= uint128(uint256(-oldSize));
        if (newSize > 0) _longs += uint128(uint256(newSize));
        else if (newSize < 0) _shorts += uint128(uint256(-newSize));
    }

    function _checkOpenInterest(uint128 longsBefore, uint128 shortsBefore, uint256 cap) private view {
        if (_longs > longsBefore && _longs > cap) revert OpenInterestCapExceeded(true, _longs, cap);
        if (_shorts > shortsBefore && _shorts > cap) revert OpenInterestCapExceeded(false, _shorts, cap);
    }

    function _checkBand(uint256 price, uint256 index, uint256 band) private pure {
        uint256 diff = price > index ? price - index : index - price;
        // diff is an integer: diff > floor(index x band) <=> diff x WAD > index x band, and no overflow.
        if (diff > index.mulWadDown(band)) revert FillPriceOutsideBand(price, index, band);
    }

    // ================================================================== internals: accounting

    /// @dev Pays `size x (index_now - snapshot)`: rounded up when the account pays, down (toward zero)
    ///      when it receives, so the rounding dust stays in the market.
    function _settleFunding(address account, Account storage a, int256 cumulative) private {
        int256 snapshot = a.fundingSnapshot;
        if (snapshot == cumulative) return;
        a.fundingSnapshot = cumulative;
        int256 size = a.size;
        if (size == 0) return;
        int256 payment = size.mulDivCeil(cumulative - snapshot, INDEX_SCALE);
        if (payment == 0) return;
        _setPnl(a, a.pnl - payment);
        emit Events.FundingSettled(account, payment, cumulative);
    }

    /// @dev A realised loss is paid from capital at once (senior funds move to the residual that
    ///      backs winners' PnL); what capital cannot cover stays as negative PnL (debt).
    function _settleLoss(Account storage a) private {
        int256 pnl = a.pnl;
        if (pnl >= 0) return;
        uint256 take = uint256(-pnl).min(a.capital);
        if (take == 0) return;
        a.capital -= uint128(take);
        a.pnl = int128(pnl + int256(take));
        capitalTotal -= uint128(take);
    }

    /// @dev Turns just enough positive PnL into capital at the haircut to cover `needed`: the PnL
    ///      given up is rounded up, the rest stays junior PnL (it may be worth more once losers
    ///      realise). Order-independent: a claimant at `h` leaves `h` unchanged for the others.
    function _realizeProfit(address account, Account storage a, uint256 needed) private {
        uint256 h = _haircut();
        if (h == 0) return;
        uint256 pnl = uint256(int256(a.pnl));
        uint256 burned = needed.mulDivUp(WAD, h);
        uint256 credit = needed;
        if (burned >= pnl) (burned, credit) = (pnl, pnl.mulWadDown(h));
        _setPnl(a, int256(pnl - burned));
        a.capital = (a.capital + credit).toUint128();
        capitalTotal = (capitalTotal + credit).toUint128();
        emit Events.ProfitRealized(account, burned, credit, h);
    }

    /// @dev Collects `fee`: from capital first (senior value to the senior insurance fund), then
    ///      from positive PnL, which is junior and so counts only at the haircut; what neither
    ///      covers becomes debt. Returns the backed amount the fund (and a liquidator) may credit,
    ///      so a fee never makes senior claims exceed the vault.
    function _collectFee(Account storage a, uint256 fee) private returns (uint256 collected) {
        uint256 h = _haircut();
        collected = fee.min(a.capital);
        if (collected != 0) {
            a.capital -= uint128(collected);
            capitalTotal -= uint128(collected);
        }
        uint256 rest = fee - collected;
        if (rest == 0) return collected;
        int256 pnl = a.pnl;
        if (pnl > 0) collected += rest.min(uint256(pnl)).mulWadDown(h);
        _setPnl(a, pnl - int256(rest));
    }

    /// @dev Negative PnL left on a closed account: the insurance fund pays what it can; the rest is
    ///      written off, which leaves the residual short of `pnlPosTotal` and lowers the haircut.
    function _absorbBadDebt(address account, Account storage a) private {
        uint256 debt = uint256(-int256(a.pnl));
        uint256 covered = debt.min(_insurance);
        _insurance -= uint128(covered);
        _setPnl(a, 0);
        emit Events.BadDebt(account, debt, covered, debt - covered);
    }

    function _setPnl(Account storage a, int256 newPnl) private {
        int256 oldPnl = a.pnl;
        if (oldPnl > 0) pnlPosTotal -= uint128(uint256(oldPnl));
        if (newPnl > 0) pnlPosTotal = (pnlPosTotal + uint256(newPnl)).toUint128();
        a.pnl = newPnl.toInt128();
    }

    /// @dev The fee on liquidated notional, capped at the liquidated share of the account's value so
    ///      that a partial liquidation never lowers the account's margin ratio.
    function _liquidationFee(uint256 amount, int256 size, int256 value, uint256 mark, uint256 feeRate)
        private
        pure
        returns (uint256 fee)
    {
        fee = amount.mulWadUp(mark).mulWadUp(feeRate);
        uint256 cap = value > 0 ? uint256(value).mulDivDown(amount, size.abs()) : 0;
        if (fee > cap) fee = cap;
    }

    function _requireMargin(address account, Account storage a, uint256 mark, bool riskIncreasing) private view {
        int256 size = a.size;
        uint256 ratio = riskIncreasing ? _params.initialMarginRatio : _params.maintenanceMarginRatio;
        uint256 required = size == 0 ? 0 : _notional(size, mark).mulWadUp(ratio);
        int256 value = _value(a, mark, _haircut());
        if (value < int256(required)) revert InsufficientMargin(account, value, required);
    }

    // ================================================================== internals: prices

    function _accruePrices() private returns (Prices memory pr) {
        pr.index = oracle.price();
        (pr.cumulative, pr.mark) = fundingRate.accrue(marketId, pr.index);
    }

    function _viewPrices() private view returns (uint256 mark, int256 cumulative) {
        return (fundingRate.markPrice(marketId), fundingRate.fundingIndex(marketId));
    }

    /// @dev Account value with funding already settled: capital + haircut(pnl + unrealised).
    function _value(Account storage a, uint256 mark, uint256 h) private view returns (int256) {
        return int256(uint256(a.capital)) + _effective(a.pnl + _unrealized(a, mark), h);
    }

    /// @dev Account value with funding not yet settled: the pending payment rounds like a settled one.
    function _valueWithPending(Account storage a, uint256 mark, int256 cumulative, uint256 h)
        private
        view
        returns (int256)
    {
        int256 pending = int256(a.size).mulDivCeil(cumulative - a.fundingSnapshot, INDEX_SCALE);
        return int256(uint256(a.capital)) + _effective(a.pnl + _unrealized(a, mark) - pending, h);
    }

    /// @dev Unrealised PnL at `mark`, floored.
    function _unrealized(Account storage a, uint256 mark) private view returns (int256) {
        return int256(a.size).mulDivFloor(int256(mark), WAD_I) - a.openNotional;
    }

    /// @dev Positive PnL counts at the haircut (rounded down); losses count in full.
    function _effective(int256 pnl, uint256 h) private pure returns (int256) {
        return pnl > 0 ? int256(uint256(pnl).mulWadDown(h)) : pnl;
    }

    function _notional(int256 size, uint256 mark) private pure returns (uint256) {
        return size.abs().mulWadUp(mark);
    }

    function _haircut() private view returns (uint256) {
        uint256 positive = pnlPosTotal;
        if (positive == 0) return WAD;
        uint256 senior = uint256(capitalTotal) + _insurance;
        uint256 residual = vault > senior ? vault - senior : 0;
        return residual >= positive ? WAD : residual.divWadDown(positive);
    }
}
