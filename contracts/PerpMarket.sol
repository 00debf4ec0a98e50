// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IPerpMarket} from "./interfaces/IPerpMarket.sol";
import {IFundingRate} from "./interfaces/IFundingRate.sol";
import {ICollateralPool} from "./interfaces/ICollateralPool.sol";
import {IPriceOracle} from "./oracle/IPriceOracle.sol";
import {MarketParams, Trade} from "./libraries/Types.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {Events} from "./libraries/Events.sol";
import "./libraries/Errors.sol";

/// @title PerpMarket
/// @notice One isolated-margin perpetual market holding its own collateral.
///
///         Accounting (all WAD, after Percolator): `vault` = tokens held; `capitalTotal` = sum of
///         deposits net of paid losses (senior, never haircut); `insurance`; realised `pnl` is junior.
///         Every touch of an account (trade, liquidation, withdrawal, `touch`, `settleFunding`)
///         settles its funding and marks it to market: unrealised PnL at the mark becomes `pnl` and
///         the entry moves to the mark, and a loss is paid from capital at once. Fresh profit warms
///         up for `warmupPeriod` (linearly) before it matures; the keeper's sweep touches every
///         loser well within that time, so the losers' payments are in the residual before the
///         winners' profit can leave. Three measures of equity: withdrawal and conversion count
///         matured PnL at `h = min(residual, matured) / matured`; risk-increasing checks count all
///         positive PnL at `g = min(residual, pnlPosTotal) / pnlPosTotal`; maintenance counts PnL
///         in full (a haircut never makes a solvent account liquidatable). `residual = vault -
///         capitalTotal - insurance`; h < 1 only with real bad debt beyond the insurance fund (no ADL).
///
///         Other collateral (multi-collateral margin) lives in the market's `collateralPool`: it counts
///         as margin at its weight, and a loss past `capital` stays as negative `pnl`, a debt in the
///         settlement token that the collateral backs until it is repaid or sold to a liquidator.
///
///         Every state-changing function runs: checks, accrue, effects, health check, emit, transfer.
///
///         Gas: an entry point reads the accounts and the market totals it touches into memory once,
///         works on the copies and writes each storage word back once (`_loadAccount`/`_storeAccount`,
///         `_loadTotals`/`_storeTotals`); a batch of fills writes the totals once for the batch.
contract PerpMarket is IPerpMarket {
    using SafeERC20 for IERC20;
    using FixedPointMath for uint256;
    using FixedPointMath for int256;

    uint256 private constant WAD = 1e18;
    int256 private constant WAD_I = 1e18;
    int256 private constant INDEX_SCALE = 1e27;

    /// @dev Storage words of an account: 1 = capital and pnl; 2 = also size and openNotional;
    ///      3 = also fundingSnapshot and the warming profit; 4 = also the warming's vesting times
    ///      (a word read and written only while something warms: a time is read only then).
    uint256 private constant ALL = 4;
    /// @dev Storage words of the totals: 1 = vault and capitalTotal; 2 = also insurance and
    ///      pnlPosTotal; 3 = also open interest and the warming total.
    uint256 private constant TOTALS = 3;

    struct Account {
        uint128 capital; // slot 0
        int128 pnl;
        int128 size; // slot 1
        int128 openNotional; // sum of signed entry notionals still open (size x mark after a touch)
        int128 fundingSnapshot; // slot 2 (|index| < 2^127 / 1e27 USD per unit: centuries at any capped rate)
        uint128 warming; // the part of positive pnl still warming up (<= max(pnl, 0))
        uint64 warmStart; // slot 3: it vests linearly from warmStart to warmEnd (stale while warming == 0)
        uint64 warmEnd;
    }

    /// @dev The market's totals (3 slots), all WAD.
    struct Totals {
        uint128 vault; // slot 0: tokens held
        uint128 capitalTotal; // sum of capital (senior)
        uint128 insurance; // slot 1
        uint128 pnlPosTotal; // sum of positive pnl (junior)
        uint128 longs; // slot 2: open interest, = shorts at rest (every fill and takeover is zero-sum)
        uint128 warmingTotal; // sum of warming (as of each account's last touch)
    }

    /// @dev Which equity a margin check counts (DESIGN section 6).
    enum Equity {
        Maintenance, // capital + PnL, no haircut
        Risk, // capital + positive PnL at g (warming included) + losses
        Withdrawal // capital + matured PnL at h + losses
    }

    /// @dev Read once per call: index from the oracle, mark and funding index from FundingRate; the
    ///      pause flag where trades need it.
    struct Prices {
        uint256 index;
        uint256 mark;
        int256 cumulative;
        bool paused;
    }

    /// @dev What the victims of one liquidation call share: the liquidator's account, the totals,
    ///      the prices read once and the params.
    struct Round {
        Account l;
        Totals g;
        Prices pr;
        MarketParams p;
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
    /// @inheritdoc IPerpMarket
    ICollateralPool public collateralPool;

    Totals internal _totals;
    /// @dev Cumulative loss beyond the insurance fund, socialised through h (off the hot paths).
    uint256 internal _badDebt;

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
        _totals.capitalTotal = (_totals.capitalTotal + wad).toUint128();
        _totals.vault = (_totals.vault + wad).toUint128();
        // Only an account in debt has a loss to settle (any other loss was paid from capital). A
        // deposit reads no price, so repaying works with every oracle down: it is no mark-to-market.
        if (a.pnl < 0) {
            Account memory m = _loadAccount(account, 1);
            Totals memory g = _loadTotals(1);
            _settleLoss(m, g);
            _storeAccount(account, m, 1);
            _storeTotals(g, 1);
        }
        emit Events.Deposit(account, payer, amount, wad);
    }

    /// @inheritdoc IPerpMarket
    function withdraw(address account, address to, uint256 amount) external onlyRouter {
        if (amount == 0) revert ZeroAmount();
        Account memory a = _loadAccount(account, 2);
        bool open = a.size != 0;
        // A flat account needs no price: it can always leave, oracle up or down.
        if (open && paused) revert MarketPaused(marketId);

        uint256 wad = amount * collateralScale;
        uint256 mark;
        // words of the account and the totals: a flat account paying out capital only needs one
        uint256 words = 1;
        Totals memory g;
        if (open || (wad > a.capital && a.pnl > 0)) {
            (a, g, words) = (_loadAccount(account, ALL), _loadTotals(TOTALS), ALL);
            if (open) {
                Prices memory pr = _accruePrices();
                mark = pr.mark;
                _touch(account, a, g, pr.mark, pr.cumulative);
            } else {
                _mature(a, g);
            }
            if (wad > a.capital && a.pnl > 0) _realizeProfit(account, a, g, wad - a.capital);
        } else {
            g = _loadTotals(1);
        }
        if (wad > a.capital) revert InsufficientCapital(account, wad, a.capital);
        a.capital -= uint128(wad);
        g.capitalTotal -= uint128(wad);
        g.vault -= uint128(wad);

        if (open) _requireMargin(account, a, g, mark, _params.initialMarginRatio, Equity.Withdrawal);
        _storeAccount(account, a, words);
        _storeTotals(g, words == ALL ? TOTALS : 1);
        emit Events.Withdraw(account, to, amount, wad);
        collateral.safeTransfer(to, amount);
    }

    /// @inheritdoc IPerpMarket
    /// @dev The totals are read once and written once for the whole batch; each side's account is
    ///      read and written once per fill (the maker's before the taker's is read: they may be one).
    function executeTrades(Trade[] calldata trades) external onlyRouter {
        Prices memory pr = _accruePrices();
        pr.paused = paused;
        MarketParams memory p = _loadParams();
        Totals memory g = _loadTotals(TOTALS);
        // two account buffers for the whole batch, refilled for each fill
        Account memory maker;
        Account memory taker;
        for (uint256 i; i < trades.length; ++i) {
            _executeTrade(trades[i], pr, p, g, maker, taker);
        }
        _storeTotals(g, TOTALS);
    }

    /// @dev One fill: band, maker side, taker side, open-interest cap, then both margin checks.
    function _executeTrade(
        Trade calldata t,
        Prices memory pr,
        MarketParams memory p,
        Totals memory g,
        Account memory maker,
        Account memory taker
    ) private {
        _checkBand(t.price, pr.index, p.priceBand);
        uint128 longsBefore = g.longs;
        (address makerAccount, address takerAccount) = (t.maker, t.taker);
        bool makerUp = _applySide(t, makerAccount, true, maker, pr, p, g);
        bool takerUp = _applySide(t, takerAccount, false, taker, pr, p, g);
        _checkOpenInterest(g, longsBefore, p.maxOpenInterest);
        if (takerAccount == makerAccount) maker = taker; // a self-trade: the maker's copy predates the taker's side
        _requireTradeMargin(makerAccount, maker, g, pr.mark, p, makerUp);
        _requireTradeMargin(takerAccount, taker, g, pr.mark, p, takerUp);
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

    /// @inheritdoc IPerpMarket
    function setCollateralPool(ICollateralPool pool) external onlyRouter {
        if (address(pool) == address(0)) revert ZeroAddress();
        if (address(collateralPool) != address(0)) revert CollateralPoolAlreadySet(address(collateralPool));
        collateralPool = pool;
    }

    // ================================================================== collateral pool entry point

    /// @inheritdoc IPerpMarket
    function onCollateralWithdrawn(address account) external {
        if (msg.sender != address(collateralPool)) revert OnlyCollateralPool(msg.sender);
        Account memory a = _loadAccount(account, ALL);
        if (a.size == 0) {
            if (a.pnl >= 0) return; // flat and owing nothing: free to leave, oracles up or down
            // flat in debt: what collateral is left must still back the debt (needs no market price)
            _requireMargin(account, a, _loadTotals(TOTALS), 0, 0, Equity.Withdrawal);
            return;
        }
        if (paused) revert MarketPaused(marketId);
        Prices memory pr = _accruePrices();
        Totals memory g = _loadTotals(TOTALS);
        _touch(account, a, g, pr.mark, pr.cumulative);
        _requireMargin(account, a, g, pr.mark, _params.initialMarginRatio, Equity.Withdrawal);
        _storeAccount(account, a, ALL);
        _storeTotals(g, TOTALS);
    }

    // ================================================================== permissionless

    /// @inheritdoc IPerpMarket
    function liquidate(address account, uint256 amount) external {
        // checks
        if (account == msg.sender) revert SelfLiquidation(account);
        Account memory a = _loadAccount(account, ALL);
        if (a.size == 0) revert NoPosition(account);
        if (amount == 0 || amount > int256(a.size).abs()) revert InvalidLiquidationAmount(amount, a.size);

        // accrue
        Prices memory pr = _accruePrices();
        Totals memory g = _loadTotals(TOTALS);
        MarketParams memory p = _loadParams();
        _touch(account, a, g, pr.mark, pr.cumulative);
        int256 value = _equity(a, pr.mark, g, Equity.Maintenance) + _collateralValueOf(account);
        {
            uint256 maintenance = _notional(a.size, pr.mark).mulWadUp(p.maintenanceMarginRatio);
            if (value >= int256(maintenance)) revert NotLiquidatable(account, value, maintenance);
        }

        // effects, then the health checks: a partial liquidation leaves the account at or above
        // maintenance (the fee cap keeps its margin ratio from falling; the amount must restore
        // it), else it closes it; the liquidator meets its margin
        Round memory r = Round(_loadAccount(msg.sender, ALL), g, pr, p);
        bool liquidatorUp = _takeOver(account, a, r, amount, value);
        if (a.size != 0) _requireHealthyAfterPartial(account, a, g, pr.mark, p.maintenanceMarginRatio);
        _requireTradeMargin(msg.sender, r.l, g, pr.mark, p, liquidatorUp);

        _storeAccount(account, a, ALL);
        _storeAccount(msg.sender, r.l, ALL);
        _storeTotals(g, TOTALS);
        emit Events.InsuranceChanged(g.insurance);
    }

    /// @inheritdoc IPerpMarket
    function liquidateBatch(address[] calldata accounts, uint256[] calldata amounts)
        external
        returns (uint256 liquidated)
    {
        // checks
        uint256 n = accounts.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        if (n == 0) return 0;

        // accrue: one oracle read and one funding accrual for the whole batch
        Round memory r = Round(_loadAccount(msg.sender, ALL), _loadTotals(TOTALS), _accruePrices(), _loadParams());
        Account memory a;

        // effects, account by account (each one's health checked by `_liquidateOne`)
        bool liquidatorUp;
        for (uint256 i; i < n; ++i) {
            (bytes4 skipped, bool up) = _liquidateOne(accounts[i], amounts[i], a, r);
            if (skipped != 0) {
                emit Events.LiquidationSkipped(accounts[i], skipped);
                continue;
            }
            ++liquidated;
            liquidatorUp = liquidatorUp || up;
        }

        // health check: the liquidator's margin once, on everything it took over
        if (liquidated != 0) {
            _requireTradeMargin(msg.sender, r.l, r.g, r.pr.mark, r.p, liquidatorUp);
            _storeAccount(msg.sender, r.l, ALL);
        }
        _storeTotals(r.g, TOTALS);
        if (liquidated != 0) emit Events.InsuranceChanged(r.g.insurance);
    }

    /// @inheritdoc IPerpMarket
    function liquidateCollateral(address account, uint256 maxRepay) external {
        // checks
        if (account == msg.sender) revert SelfLiquidation(account);
        if (maxRepay == 0) revert ZeroAmount();
        ICollateralPool pool = collateralPool;
        if (address(pool) == address(0)) revert NothingToSeize(account);
        Account memory a = _loadAccount(account, ALL);
        Account memory l = _loadAccount(msg.sender, ALL);

        // accrue (a flat account in debt needs no market price: its liquidation never waits for one)
        Totals memory g = _loadTotals(TOTALS);
        uint256 mark;
        if (a.size != 0 || l.size != 0) {
            Prices memory pr = _accruePrices();
            mark = pr.mark;
            _touch(account, a, g, pr.mark, pr.cumulative);
            _touch(msg.sender, l, g, pr.mark, pr.cumulative);
        }
        _settleLoss(a, g);
        if (a.pnl >= 0) revert NoDebt(account);
        if (a.size != 0) {
            int256 value = _equity(a, mark, g, Equity.Maintenance) + _collateralValueOf(account);
            uint256 maintenance = _notional(a.size, mark).mulWadUp(_params.maintenanceMarginRatio);
            if (value >= int256(maintenance)) revert NotLiquidatable(account, value, maintenance);
        }

        // effects: the liquidator pays the debt from its capital and receives the collateral
        uint256 debt = uint256(-int256(a.pnl));
        (uint256 repaid, bool left) = pool.seize(account, msg.sender, maxRepay.min(debt), maxRepay >= debt);
        if (repaid == 0) revert NothingToSeize(account);
        if (repaid > l.capital) revert InsufficientCapital(msg.sender, repaid, l.capital);
        l.capital -= uint128(repaid);
        g.capitalTotal -= uint128(repaid);
        a.pnl += int128(int256(repaid)); // repaid <= debt: the pnl stays <= 0
        if (a.size == 0 && a.pnl < 0 && !left) _absorbBadDebt(account, a, g);

        // health check: the liquidator paid from capital, like a withdrawal
        if (l.size != 0) _requireMargin(msg.sender, l, g, mark, _params.initialMarginRatio, Equity.Withdrawal);

        _storeAccount(account, a, ALL);
        _storeAccount(msg.sender, l, ALL);
        _storeTotals(g, TOTALS);
        emit Events.DebtRepaid(account, msg.sender, repaid, a.pnl);
    }

    /// @inheritdoc IPerpMarket
    function settleFunding(address account) external {
        Account memory a = _loadAccount(account, ALL);
        Prices memory pr = _accruePrices();
        Totals memory g = _loadTotals(TOTALS);
        _touch(account, a, g, pr.mark, pr.cumulative);
        _storeAccount(account, a, ALL);
        _storeTotals(g, TOTALS);
    }

    /// @inheritdoc IPerpMarket
    function touch(address[] calldata accounts) external returns (uint256 touched) {
        Prices memory pr = _accruePrices();
        Totals memory g = _loadTotals(TOTALS);
        Account memory a;
        for (uint256 i; i < accounts.length; ++i) {
            address account = accounts[i];
            _loadInto(a, account, ALL);
            if (a.size == 0 && a.warming == 0) continue; // flat, nothing warming (or unknown): skipped
            _touch(account, a, g, pr.mark, pr.cumulative);
            _storeAccount(account, a, ALL);
            ++touched;
        }
        _storeTotals(g, TOTALS);
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

    /// @notice The whole account in one call. The warm-up times read zero while nothing is warming
    ///         (they are stale in storage then: a touch does not spend a write on them).
    function accountOf(address account) external view returns (Account memory) {
        return _loadAccount(account, ALL);
    }

    /// @notice Collateral tokens held, in WAD.
    function vault() external view returns (uint128) {
        return _totals.vault;
    }

    /// @notice Sum of all accounts' capital (the senior claim), WAD.
    function capitalTotal() external view returns (uint128) {
        return _totals.capitalTotal;
    }

    /// @notice Sum of all positive realised PnL (the junior claim), WAD.
    function pnlPosTotal() external view returns (uint128) {
        return _totals.pnlPosTotal;
    }

    /// @inheritdoc IPerpMarket
    function accountValue(address account) public view returns (int256) {
        Account memory a = _loadAccount(account, 3);
        int256 collateralValue = _collateralValueOf(account);
        if (a.size == 0) return int256(uint256(a.capital)) + a.pnl + collateralValue;
        (uint256 mark, int256 cumulative) = _viewPrices();
        return _valueWithPending(a, mark, cumulative) + collateralValue;
    }

    /// @inheritdoc IPerpMarket
    /// @dev Reverts like `accountValue` when the oracle cannot price.
    function healthOf(address[] calldata accounts)
        external
        view
        returns (int256[] memory sizes, int256[] memory values, uint256[] memory maintenance)
    {
        (uint256 mark, int256 cumulative) = _viewPrices();
        uint256 mmr = _params.maintenanceMarginRatio;
        uint256 n = accounts.length;
        (sizes, values, maintenance) = (new int256[](n), new int256[](n), new uint256[](n));
        for (uint256 i; i < n; ++i) {
            Account memory a = _loadAccount(accounts[i], 3);
            sizes[i] = a.size;
            values[i] = _valueWithPending(a, mark, cumulative) + _collateralValueOf(accounts[i]);
            maintenance[i] = a.size == 0 ? 0 : _notional(a.size, mark).mulWadUp(mmr);
        }
    }

    /// @inheritdoc IPerpMarket
    function candidatesOf(address[] calldata accounts)
        external
        view
        returns (int256[] memory sizes, int256[] memory values, uint256[] memory maintenance, int256[] memory unsettled)
    {
        (uint256 mark, int256 cumulative) = _viewPrices();
        uint256 mmr = _params.maintenanceMarginRatio;
        uint256 n = accounts.length;
        (sizes, values, maintenance, unsettled) = (new int256[](n), new int256[](n), new uint256[](n), new int256[](n));
        for (uint256 i; i < n; ++i) {
            Account memory a = _loadAccount(accounts[i], 3);
            sizes[i] = a.size;
            if (a.size == 0) {
                values[i] = int256(uint256(a.capital)) + a.pnl + _collateralValueOf(accounts[i]);
                continue;
            }
            int256 value = _valueWithPending(a, mark, cumulative);
            unsettled[i] = value - int256(uint256(a.capital)) - a.pnl;
            values[i] = value + _collateralValueOf(accounts[i]);
            maintenance[i] = _notional(a.size, mark).mulWadUp(mmr);
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
        uint256 longs_ = _totals.longs;
        return (longs_, longs_);
    }

    /// @inheritdoc IPerpMarket
    function insuranceFund() external view returns (uint256) {
        return _totals.insurance;
    }

    /// @inheritdoc IPerpMarket
    function haircut() external view returns (uint256) {
        return _haircut(_loadTotals(TOTALS));
    }

    /// @inheritdoc IPerpMarket
    function coverage() external view returns (uint256) {
        return _coverage(_loadTotals(2));
    }

    /// @inheritdoc IPerpMarket
    function warmupPeriod() external view returns (uint256) {
        return _params.warmupPeriod;
    }

    /// @inheritdoc IPerpMarket
    function pnlWarmingOf(address account) public view returns (uint256) {
        Account memory a = _loadAccount(account, ALL);
        return a.warming - _vested(a);
    }

    /// @inheritdoc IPerpMarket
    function pnlMaturedOf(address account) external view returns (int256) {
        int256 pnl = _accounts[account].pnl;
        return pnl > 0 ? pnl - int256(pnlWarmingOf(account)) : pnl;
    }

    /// @inheritdoc IPerpMarket
    function pnlWarmingTotal() external view returns (uint256) {
        return _totals.warmingTotal;
    }

    /// @inheritdoc IPerpMarket
    function badDebt() external view returns (uint256) {
        return _badDebt;
    }

    /// @inheritdoc IPerpMarket
    function params() external view returns (MarketParams memory) {
        return _loadParams(); // the hot paths' decoding, so the tests of `params` check it too
    }

    // ================================================================== internals: storage

    /// @dev The first `words` storage words of `account` (see `ALL`) in a new buffer; the other
    ///      fields stay zero.
    function _loadAccount(address account, uint256 words) private view returns (Account memory a) {
        _loadInto(a, account, words);
    }

    /// @dev The first `words` storage words of `account` into the buffer `a`, with memory values
    ///      cleaned as Solidity keeps them (unsigned masked, signed sign-extended).
    function _loadInto(Account memory a, address account, uint256 words) private view {
        Account storage s = _accounts[account];
        assembly ("memory-safe") {
            let slot := s.slot
            let w := sload(slot)
            mstore(a, and(w, 0xffffffffffffffffffffffffffffffff)) // capital
            mstore(add(a, 0x20), signextend(15, shr(128, w))) // pnl
            if gt(words, 1) {
                w := sload(add(slot, 1))
                mstore(add(a, 0x40), signextend(15, w)) // size
                mstore(add(a, 0x60), signextend(15, shr(128, w))) // openNotional
            }
            if gt(words, 2) {
                w := sload(add(slot, 2))
                mstore(add(a, 0x80), signextend(15, w)) // fundingSnapshot
                mstore(add(a, 0xa0), shr(128, w)) // warming
            }
            if gt(words, 3) {
                w := 0
                if mload(add(a, 0xa0)) { w := sload(add(slot, 3)) } // the times matter only while warming
                mstore(add(a, 0xc0), and(w, 0xffffffffffffffff)) // warmStart
                mstore(add(a, 0xe0), shr(64, w)) // warmEnd
            }
        }
    }

    /// @dev Writes the first `words` storage words of `account` from `a`.
    function _storeAccount(address account, Account memory a, uint256 words) private {
        Account storage s = _accounts[account];
        assembly ("memory-safe") {
            let slot := s.slot
            let mask := 0xffffffffffffffffffffffffffffffff
            sstore(slot, or(and(mload(a), mask), shl(128, mload(add(a, 0x20)))))
            if gt(words, 1) { sstore(add(slot, 1), or(and(mload(add(a, 0x40)), mask), shl(128, mload(add(a, 0x60))))) }
            if gt(words, 2) { sstore(add(slot, 2), or(and(mload(add(a, 0x80)), mask), shl(128, mload(add(a, 0xa0))))) }
            if and(gt(words, 3), gt(mload(add(a, 0xa0)), 0)) {
                sstore(add(slot, 3), or(and(mload(add(a, 0xc0)), 0xffffffffffffffff), shl(64, mload(add(a, 0xe0)))))
            }
        }
    }

    /// @dev `_params` in three reads (eight uint64 in words 0-1, two uint128 in word 2), where a
    ///      struct copy reads each field.
    function _loadParams() private view returns (MarketParams memory p) {
        assembly ("memory-safe") {
            let slot := _params.slot
            let m64 := 0xffffffffffffffff
            let w := sload(slot)
            mstore(p, and(w, m64)) // initialMarginRatio
            mstore(add(p, 0x20), and(shr(64, w), m64)) // maintenanceMarginRatio
            mstore(add(p, 0x40), and(shr(128, w), m64)) // liquidationFee
            mstore(add(p, 0x60), shr(192, w)) // liquidatorShare
            w := sload(add(slot, 1))
            mstore(add(p, 0x80), and(w, m64)) // makerFee
            mstore(add(p, 0xa0), and(shr(64, w), m64)) // takerFee
            mstore(add(p, 0xc0), and(shr(128, w), m64)) // priceBand
            mstore(add(p, 0xe0), shr(192, w)) // warmupPeriod
            w := sload(add(slot, 2))
            mstore(add(p, 0x100), and(w, 0xffffffffffffffffffffffffffffffff)) // maxOpenInterest
            mstore(add(p, 0x120), shr(128, w)) // minPositionSize
        }
    }

    /// @dev The first `words` storage words of the totals (see `ALL`); the other fields stay zero.
    function _loadTotals(uint256 words) private view returns (Totals memory g) {
        assembly ("memory-safe") {
            let slot := _totals.slot
            let mask := 0xffffffffffffffffffffffffffffffff
            for { let i := 0 } lt(i, words) { i := add(i, 1) } {
                let w := sload(add(slot, i))
                let m := add(g, shl(6, i)) // two fields per word
                mstore(m, and(w, mask))
                mstore(add(m, 0x20), shr(128, w))
            }
        }
    }

    /// @dev Writes the first `words` storage words of the totals from `g`.
    function _storeTotals(Totals memory g, uint256 words) private {
        assembly ("memory-safe") {
            let slot := _totals.slot
            let mask := 0xffffffffffffffffffffffffffffffff
            for { let i := 0 } lt(i, words) { i := add(i, 1) } {
                let m := add(g, shl(6, i))
                sstore(add(slot, i), or(and(mload(m), mask), shl(128, mload(add(m, 0x20)))))
            }
        }
    }

    // ================================================================== internals: trading

    /// @dev One side of a fill (`account` is `t.maker` or `t.taker`): reads the account into `a`, applies funding, position, fee and loss
    ///      settlement, writes it back; returns whether the change increased risk (|size| grew or
    ///      the sign flipped).
    function _applySide(
        Trade calldata t,
        address account,
        bool isMaker,
        Account memory a,
        Prices memory pr,
        MarketParams memory p,
        Totals memory g
    ) private returns (bool riskIncreasing) {
        int256 delta = isMaker ? t.makerDelta : -t.makerDelta;
        _loadInto(a, account, ALL);
        {
            int256 oldSize = a.size;
            riskIncreasing = _increasesRisk(oldSize, oldSize + delta);
            if ((isMaker ? t.makerReduceOnly : t.takerReduceOnly) && riskIncreasing) {
                revert ReduceOnlyViolated(account, oldSize, delta);
            }
        }
        if (riskIncreasing && pr.paused) revert MarketPaused(marketId);
        _trade(account, a, g, delta, t.price, isMaker ? p.makerFee : p.takerFee, pr, p.minPositionSize);
        _storeAccount(account, a, ALL);
    }

    /// @dev The liquidator's side: no fee, and open while the market is paused.
    function _applyTradeUnpaused(
        address account,
        Account memory a,
        Totals memory g,
        int256 delta,
        Prices memory pr,
        uint256 minPositionSize
    ) private returns (bool riskIncreasing) {
        int256 oldSize = a.size;
        riskIncreasing = _increasesRisk(oldSize, oldSize + delta);
        _trade(account, a, g, delta, pr.mark, 0, pr, minPositionSize);
    }

    /// @dev |size| grows, or the sign flips (a close to zero is no flip).
    function _increasesRisk(int256 oldSize, int256 newSize) private pure returns (bool) {
        return newSize.abs() > oldSize.abs() || (newSize != 0 && (oldSize ^ newSize) < 0);
    }

    /// @dev Touch (funding, mark to market, loss, maturity), then the position change at `price`.
    function _trade(
        address account,
        Account memory a,
        Totals memory g,
        int256 delta,
        uint256 price,
        uint256 feeRate,
        Prices memory pr,
        uint256 minPositionSize
    ) private {
        _touch(account, a, g, pr.mark, pr.cumulative);
        int256 oldSize = a.size;
        int256 newSize = oldSize + delta;
        if (newSize != 0 && newSize.abs() < minPositionSize) {
            revert PositionBelowMinimum(account, newSize, minPositionSize);
        }
        int256 realized = _updatePosition(a, oldSize, delta, price);
        if (realized != 0) _setPnl(a, g, a.pnl + realized);
        _settleLoss(a, g);
        uint256 fee = feeRate == 0 ? 0 : delta.abs().mulWadUp(price).mulWadUp(feeRate);
        if (fee != 0) g.insurance = (g.insurance + _collectFee(a, g, fee)).toUint128();
        _updateOpenInterest(g, oldSize, newSize);
        emit Events.PositionChanged(account, newSize, a.openNotional, price, realized, fee);
    }

    /// @dev Opening adds `delta x price` to the open notional, rounded toward +inf (a long pays the
    ///      extra wei, a short's entry is the lower one). Closing realises `exit - basis`: the exit
    ///      value floored, the basis share ceiled, so the realised PnL is rounded down.
    function _updatePosition(Account memory a, int256 oldSize, int256 delta, uint256 price)
        private
        pure
        returns (int256 realized)
    {
        int256 openNotional = a.openNotional;
        int256 newSize = oldSize + delta;
        int256 px = int256(price);
        // The products are checked inside mulDiv*, so a notional over 1e18 is below 2^196 in size;
        // the open notional is an int128, the basis at most its size plus one: no sum below wraps.
        unchecked {
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
        }
        a.size = newSize.toInt128();
        a.openNotional = openNotional.toInt128();
    }

    /// @dev Only the long side is kept: after both sides of a fill (or a takeover) the shorts equal
    ///      the longs, so a second counter would cost a word for a number already known.
    function _updateOpenInterest(Totals memory g, int256 oldSize, int256 newSize) private pure {
        if (oldSize > 0) g.longs -= uint128(uint256(oldSize));
        if (newSize > 0) g.longs += uint128(uint256(newSize));
    }

    function _checkOpenInterest(Totals memory g, uint128 longsBefore, uint256 cap) private pure {
        if (g.longs > longsBefore && g.longs > cap) revert OpenInterestCapExceeded(true, g.longs, cap);
    }

    function _checkBand(uint256 price, uint256 index, uint256 band) private pure {
        uint256 diff = price > index ? price - index : index - price;
        // diff is an integer: diff > floor(index x band) <=> diff x WAD > index x band, and no overflow.
        if (diff > index.mulWadDown(band)) revert FillPriceOutsideBand(price, index, band);
    }

    // ================================================================== internals: accounting

    /// @dev A touch: profit vested since the last one matures, funding is settled, the position is
    ///      marked to market and a loss is paid from capital. Idempotent within a block.
    function _touch(address account, Account memory a, Totals memory g, uint256 mark, int256 cumulative) private {
        _mature(a, g);
        _settleFunding(account, a, g, cumulative);
        _markToMarket(account, a, g, mark);
        _settleLoss(a, g);
    }

    /// @dev Realises the unrealised PnL at `mark` (`size x mark` floored minus the entry) and moves
    ///      the entry to `size x mark` floored: the account's value is unchanged to the wei, so a
    ///      repeated touch moves nothing. Open interest, funding and size are untouched.
    function _markToMarket(address account, Account memory a, Totals memory g, uint256 mark) private {
        int256 size = a.size;
        if (size == 0) return;
        int256 atMark = size.mulDivFloor(int256(mark), WAD_I);
        int256 realized;
        unchecked {
            realized = atMark - a.openNotional; // |atMark| < 2^196, |openNotional| < 2^127
        }
        if (realized == 0) return;
        a.openNotional = atMark.toInt128();
        _setPnl(a, g, a.pnl + realized);
        emit Events.MarkedToMarket(account, realized, mark);
    }

    /// @dev Pays `size x (index_now - snapshot)`: rounded up when the account pays, down (toward zero)
    ///      when it receives, so the rounding dust stays in the market.
    function _settleFunding(address account, Account memory a, Totals memory g, int256 cumulative) private {
        int256 snapshot = a.fundingSnapshot;
        if (snapshot == cumulative) return;
        a.fundingSnapshot = cumulative.toInt128();
        int256 size = a.size;
        if (size == 0) return;
        int256 payment = size.mulDivCeil(cumulative - snapshot, INDEX_SCALE);
        if (payment == 0) return;
        int256 newPnl;
        unchecked {
            newPnl = a.pnl - payment; // |payment| < 2^166 (a checked product over 1e27), |pnl| < 2^127
        }
        _setPnl(a, g, newPnl);
        emit Events.FundingSettled(account, payment, cumulative);
    }

    /// @dev A realised loss is paid from capital at once (senior funds move to the residual that
    ///      backs winners' PnL); what capital cannot cover stays as negative PnL (debt).
    function _settleLoss(Account memory a, Totals memory g) private pure {
        int256 pnl = a.pnl;
        if (pnl >= 0) return;
        uint256 take = uint256(-pnl).min(a.capital);
        if (take == 0) return;
        a.capital -= uint128(take);
        a.pnl = int128(pnl + int256(take));
        g.capitalTotal -= uint128(take);
    }

    /// @dev The warming profit vested by now: linear from `warmStart` to `warmEnd`, rounded down
    ///      (against the account).
    function _vested(Account memory a) private view returns (uint256) {
        uint256 warming = a.warming;
        if (warming == 0) return 0;
        uint256 end = a.warmEnd;
        if (block.timestamp >= end) return warming;
        uint256 start = a.warmStart;
        return warming.mulDivDown(block.timestamp - start, end - start); // start <= now < end
    }

    /// @dev Moves the vested part of the warming profit to matured (the global warming total too).
    function _mature(Account memory a, Totals memory g) private view {
        if (a.warming == 0) return;
        uint256 vested = _vested(a);
        a.warmStart = uint64(block.timestamp);
        if (vested == 0) return;
        a.warming -= uint128(vested);
        g.warmingTotal -= uint128(vested);
    }

    /// @dev Turns just enough matured PnL into capital at the haircut `h` to cover `needed`: the PnL
    ///      given up is rounded up, the rest stays junior PnL. Warming profit is never converted.
    ///      Order-independent: a claimant at `h` leaves `h` unchanged for the others.
    function _realizeProfit(address account, Account memory a, Totals memory g, uint256 needed) private {
        uint256 matured = uint256(int256(a.pnl)) - a.warming;
        if (matured == 0) return;
        uint256 h = _haircut(g);
        if (h == 0) return;
        uint256 burned = needed.mulDivUp(WAD, h);
        uint256 credit = needed;
        if (burned >= matured) (burned, credit) = (matured, matured.mulWadDown(h));
        _setPnl(a, g, a.pnl - int256(burned));
        a.capital = (a.capital + credit).toUint128();
        g.capitalTotal = (g.capitalTotal + credit).toUint128();
        emit Events.ProfitRealized(account, burned, credit, h);
    }

    /// @dev Collects `fee`: from capital first (senior value to the senior insurance fund), then
    ///      from positive PnL, which is junior and so counts only at the coverage `g`; what neither
    ///      covers becomes debt. Returns the backed amount the fund (and a liquidator) may credit,
    ///      so a fee never makes senior claims exceed the vault.
    function _collectFee(Account memory a, Totals memory g, uint256 fee) private view returns (uint256 collected) {
        uint256 coverage = _coverage(g);
        collected = fee.min(a.capital);
        if (collected != 0) {
            a.capital -= uint128(collected);
            g.capitalTotal -= uint128(collected);
        }
        uint256 rest = fee - collected;
        if (rest == 0) return collected;
        int256 pnl = a.pnl;
        if (pnl > 0) collected += rest.min(uint256(pnl)).mulWadDown(coverage);
        _setPnl(a, g, pnl - int256(rest));
    }

    /// @dev Negative PnL left on a closed account: the insurance fund pays what it can; the rest is
    ///      bad debt, written off: the residual stays short of the winners' PnL and `h` falls.
    function _absorbBadDebt(address account, Account memory a, Totals memory g) private {
        uint256 debt = uint256(-int256(a.pnl));
        uint256 covered = debt.min(g.insurance);
        g.insurance -= uint128(covered);
        _badDebt += debt - covered;
        _setPnl(a, g, 0);
        emit Events.BadDebt(account, debt, covered, debt - covered);
    }

    /// @dev Sets the pnl and keeps the totals: fresh profit (a rise of the positive part) warms up,
    ///      restarting the linear vesting of what is still warming, never ending earlier than it
    ///      was promised; a fall of the positive part takes matured profit first.
    function _setPnl(Account memory a, Totals memory g, int256 newPnl) private view {
        int256 oldPnl = a.pnl;
        uint256 oldPos = oldPnl > 0 ? uint256(oldPnl) : 0;
        uint256 newPos = newPnl > 0 ? uint256(newPnl) : 0;
        a.pnl = newPnl.toInt128();
        if (newPos == oldPos) return;
        g.pnlPosTotal = (g.pnlPosTotal + newPos - oldPos).toUint128();
        if (newPos > oldPos) {
            uint256 fresh = newPos - oldPos;
            uint256 end = block.timestamp + _params.warmupPeriod;
            if (a.warming == 0 || end > a.warmEnd) a.warmEnd = uint64(end);
            a.warmStart = uint64(block.timestamp);
            a.warming = uint128(a.warming + fresh); // <= newPos < 2^127
            g.warmingTotal = (g.warmingTotal + fresh).toUint128();
        } else if (a.warming > newPos) {
            g.warmingTotal -= uint128(a.warming - newPos);
            a.warming = uint128(newPos);
        }
    }

    /// @dev One entry of `liquidateBatch` into the buffer `a`: the selector of the error `liquidate`
    ///      would revert with (the entry is skipped), or 0 and whether the takeover increased the
    ///      liquidator's risk. A healthy account costs three storage reads and no write: its
    ///      maintenance value with pending funding equals the one after a touch to the wei.
    function _liquidateOne(address account, uint256 amount, Account memory a, Round memory r)
        private
        returns (bytes4 skipped, bool liquidatorUp)
    {
        if (account == msg.sender) return (SelfLiquidation.selector, false);
        _loadInto(a, account, 3);
        bool isPartial;
        {
            uint256 whole = int256(a.size).abs();
            if (whole == 0) return (NoPosition.selector, false);
            if (amount == 0) amount = whole;
            else if (amount > whole) return (InvalidLiquidationAmount.selector, false);
            isPartial = amount < whole;
        }
        uint256 mark = r.pr.mark;
        // the maintenance value a touch would leave (its funding settled), without the touch
        int256 value = _equity(a, mark, r.g, Equity.Maintenance) - _pendingFunding(a, r.pr.cumulative)
            + _collateralValueOf(account);
        uint256 mmr = r.p.maintenanceMarginRatio;
        if (value >= int256(_notional(a.size, mark).mulWadUp(mmr))) return (NotLiquidatable.selector, false);

        _loadInto(a, account, ALL); // the warm-up times, read only when warming
        _touch(account, a, r.g, mark, r.pr.cumulative);
        if (isPartial) skipped = _partialRefusal(a, amount, value, mark, r.p);
        if (skipped == 0) {
            liquidatorUp = _takeOver(account, a, r, amount, value);
            if (a.size != 0) _requireHealthyAfterPartial(account, a, r.g, mark, mmr);
        }
        _storeAccount(account, a, ALL); // a refused partial keeps its touch
    }

    /// @dev Why a takeover of `amount` (< |size|) of the touched account `a` would be refused, or 0:
    ///      the remainder below the minimum position, or the account left below maintenance. The
    ///      takeover's own arithmetic without its effects: the exit at mark realises the entry's
    ///      rounding, the fee lowers the maintenance value by what capital and profit cover of it.
    function _partialRefusal(Account memory a, uint256 amount, int256 value, uint256 mark, MarketParams memory p)
        private
        pure
        returns (bytes4)
    {
        int256 size = a.size;
        int256 delta = size > 0 ? -int256(amount) : int256(amount);
        if ((size + delta).abs() < p.minPositionSize) return PositionBelowMinimum.selector;
        Account memory t = Account(a.capital, a.pnl, a.size, a.openNotional, 0, 0, 0, 0);
        int256 realized = _updatePosition(t, size, delta, mark);
        int256 pnl = t.pnl + realized;
        uint256 capital = t.capital;
        if (pnl < 0) {
            uint256 take = uint256(-pnl).min(capital);
            (capital, pnl) = (capital - take, pnl + int256(take));
        }
        uint256 fee = _liquidationFee(amount, size, value, mark, p.liquidationFee);
        fee = fee.min(capital + (pnl > 0 ? uint256(pnl) : 0));
        int256 after_ = value + realized + _unrealized(t, mark) - int256(fee);
        uint256 maintenance = _notional(t.size, mark).mulWadUp(p.maintenanceMarginRatio);
        return after_ < int256(maintenance) ? PartialLiquidationUnhealthy.selector : bytes4(0);
    }

    /// @dev The liquidator takes over `amount` of the touched account `a` at the mark into `l`; the
    ///      fee (on the maintenance `value`, collateral included) goes to the insurance fund and
    ///      the liquidator; a closed account left in debt that no collateral backs is bad debt.
    ///      Returns whether the takeover increased the liquidator's risk.
    function _takeOver(address account, Account memory a, Round memory r, uint256 amount, int256 value)
        private
        returns (bool liquidatorUp)
    {
        (Totals memory g, Prices memory pr, MarketParams memory p) = (r.g, r.pr, r.p);
        int256 size = a.size;
        uint256 fee = _liquidationFee(amount, size, value, pr.mark, p.liquidationFee);
        int256 delta = size > 0 ? -int256(amount) : int256(amount);
        // the liquidated side only loses risk (amount <= |size|): no reduce-only or pause check applies
        _trade(account, a, g, delta, pr.mark, 0, pr, p.minPositionSize);
        liquidatorUp = _applyTradeUnpaused(msg.sender, r.l, g, -delta, pr, p.minPositionSize);

        uint256 reward;
        // The fee is charged only as far as capital and positive PnL cover it after the takeover. A
        // debt for the rest would back nobody: the fund and the liquidator can be credited only
        // with backed value, so a later repayment (a deposit, a collateral sale) would leave tokens
        // no one can claim, and a write-off would count the fee as bad debt.
        fee = fee.min(uint256(a.capital) + (a.pnl > 0 ? uint256(int256(a.pnl)) : 0));
        if (fee > 0) {
            fee = _collectFee(a, g, fee);
            reward = fee.mulWadDown(p.liquidatorShare);
            r.l.capital = (r.l.capital + reward).toUint128();
            g.capitalTotal = (g.capitalTotal + reward).toUint128();
            g.insurance = (g.insurance + fee - reward).toUint128();
        }
        // debt that collateral still backs waits for `liquidateCollateral`; the rest is bad debt now
        if (a.size == 0 && a.pnl < 0 && !_holdsCollateral(account)) _absorbBadDebt(account, a, g);
        emit Events.Liquidation(account, msg.sender, amount, pr.mark, fee, reward);
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

    /// @dev A partial liquidation leaves the account at or above maintenance (with its collateral).
    function _requireHealthyAfterPartial(address account, Account memory a, Totals memory g, uint256 mark, uint256 mmr)
        private
        view
    {
        int256 value = _equity(a, mark, g, Equity.Maintenance) + _collateralValueOf(account);
        uint256 maintenance = _notional(a.size, mark).mulWadUp(mmr);
        if (value < int256(maintenance)) revert PartialLiquidationUnhealthy(account, value, maintenance);
    }

    /// @dev After a fill: initial margin (risk-increasing equity) when it increased risk, else
    ///      maintenance (maintenance equity).
    function _requireTradeMargin(
        address account,
        Account memory a,
        Totals memory g,
        uint256 mark,
        MarketParams memory p,
        bool up
    ) private view {
        if (up) _requireMargin(account, a, g, mark, p.initialMarginRatio, Equity.Risk);
        else _requireMargin(account, a, g, mark, p.maintenanceMarginRatio, Equity.Maintenance);
    }

    /// @dev `ratio` of the notional at mark, against the `kind` of equity. The collateral pool is
    ///      asked only when the settlement-token value alone falls short, so an account (or a
    ///      market) without collateral pays nothing for it.
    function _requireMargin(address account, Account memory a, Totals memory g, uint256 mark, uint256 ratio, Equity kind)
        private
        view
    {
        int256 size = a.size;
        uint256 required = size == 0 ? 0 : _notional(size, mark).mulWadUp(ratio);
        int256 value = _equity(a, mark, g, kind);
        if (value >= int256(required)) return;
        ICollateralPool pool = collateralPool;
        if (address(pool) == address(0)) revert InsufficientMargin(account, value, required);
        (uint256 extra, bool allPriced) = pool.valueOf(account);
        value += int256(extra);
        if (value >= int256(required)) return;
        // a failed collateral oracle counts that collateral at zero for new risk, but never blocks a
        // change that only lowers risk (closing): nobody could price what the check would need
        if (!allPriced && kind == Equity.Maintenance) return;
        revert InsufficientMargin(account, value, required);
    }

    /// @dev Margin value of `account`'s other collateral (a failed oracle counts zero).
    function _collateralValueOf(address account) private view returns (int256) {
        ICollateralPool pool = collateralPool;
        if (address(pool) == address(0)) return 0;
        (uint256 value,) = pool.valueOf(account);
        return int256(value); // < 2^128 x 8 tokens x price: far below 2^255
    }

    function _holdsCollateral(address account) private view returns (bool) {
        ICollateralPool pool = collateralPool;
        return address(pool) != address(0) && pool.holdsCollateral(account);
    }

    // ================================================================== internals: prices

    function _accruePrices() private returns (Prices memory pr) {
        pr.index = oracle.price();
        (pr.cumulative, pr.mark) = fundingRate.accrue(marketId, pr.index);
    }

    function _viewPrices() private view returns (uint256 mark, int256 cumulative) {
        return (fundingRate.markPrice(marketId), fundingRate.fundingIndex(marketId));
    }

    /// @dev The account's equity of `kind` with funding settled (DESIGN section 6):
    ///      maintenance = capital + pnl + unrealised; risk = capital + (pnl + unrealised) with a
    ///      positive sum at the coverage g; withdrawal = capital + matured pnl at the haircut h (a
    ///      loss in full) + unrealised. Right after a touch the unrealised PnL is zero.
    function _equity(Account memory a, uint256 mark, Totals memory g, Equity kind) private view returns (int256) {
        int256 capital = int256(uint256(a.capital));
        // |unrealised| < 2^197 (see `_unrealized`), |pnl| < 2^127, capital < 2^128: no sum wraps
        unchecked {
            int256 pnl = a.pnl + _unrealized(a, mark);
            if (kind == Equity.Maintenance) return capital + pnl;
            if (kind == Equity.Risk) return capital + _effective(pnl, _coverage(g));
            int256 matured = a.pnl - int256(uint256(a.warming)); // warming <= max(pnl, 0)
            return capital + _effective(matured, _haircut(g)) + _unrealized(a, mark);
        }
    }

    /// @dev Maintenance equity with funding not yet settled: the pending payment rounds like a
    ///      settled one.
    function _valueWithPending(Account memory a, uint256 mark, int256 cumulative) private pure returns (int256) {
        return int256(uint256(a.capital)) + a.pnl + _unrealized(a, mark) - _pendingFunding(a, cumulative);
    }

    /// @dev What settling funding at `cumulative` would charge (rounded up, as `_settleFunding`).
    function _pendingFunding(Account memory a, int256 cumulative) private pure returns (int256) {
        return int256(a.size).mulDivCeil(cumulative - a.fundingSnapshot, INDEX_SCALE);
    }

    /// @dev Unrealised PnL at `mark`, floored.
    function _unrealized(Account memory a, uint256 mark) private pure returns (int256) {
        // the product is checked, so |size x mark / 1e18| < 2^196; minus an int128 cannot wrap
        unchecked {
            return int256(a.size).mulDivFloor(int256(mark), WAD_I) - a.openNotional;
        }
    }

    /// @dev Positive PnL counts at the ratio (rounded down); losses count in full.
    function _effective(int256 pnl, uint256 ratio) private pure returns (int256) {
        return pnl > 0 ? int256(uint256(pnl).mulWadDown(ratio)) : pnl;
    }

    function _notional(int256 size, uint256 mark) private pure returns (uint256) {
        return size.abs().mulWadUp(mark);
    }

    /// @dev `h = min(residual, matured) / matured`, matured = pnlPosTotal - warmingTotal: what
    ///      withdrawals and conversions get of matured profit.
    function _haircut(Totals memory g) private pure returns (uint256) {
        return _ratio(g, g.pnlPosTotal - g.warmingTotal);
    }

    /// @dev `g = min(residual, pnlPosTotal) / pnlPosTotal`: what risk-increasing checks and fees
    ///      count of positive PnL, warming included.
    function _coverage(Totals memory g) private pure returns (uint256) {
        return _ratio(g, g.pnlPosTotal);
    }

    /// @dev `min(residual, claims) / claims` rounded down (WAD without claims), `residual = vault -
    ///      capitalTotal - insurance` floored at 0.
    function _ratio(Totals memory g, uint256 claims) private pure returns (uint256) {
        if (claims == 0) return WAD;
        uint256 senior;
        uint256 residual;
        unchecked {
            senior = uint256(g.capitalTotal) + g.insurance; // two uint128: cannot wrap
            residual = g.vault > senior ? g.vault - senior : 0;
        }
        return residual >= claims ? WAD : residual.divWadDown(claims);
    }
}
