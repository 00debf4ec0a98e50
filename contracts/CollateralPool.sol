// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICollateralPool} from "./interfaces/ICollateralPool.sol";
import {IPriceOracle} from "./oracle/IPriceOracle.sol";
import {CollateralParams} from "./libraries/Types.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {Events} from "./libraries/Events.sol";
import "./libraries/Errors.sol";

/// @notice What the pool needs of its market.
interface IMarketForPool {
    function collateral() external view returns (IERC20);
    function onCollateralWithdrawn(address account) external;
}

/// @title CollateralPool
/// @notice The non-settlement collateral of one market (created by the router with the market's
///         first collateral token). It holds the tokens and the balances; the market owns the
///         margin logic and asks this pool for the value of an account's collateral only when the
///         settlement-token value alone falls short, so a market without collateral pays nothing.
///
///         Amounts are token units; values are WAD USD. A balance counts as
///         `balance x scale x price x weight`, each product rounded down (against the account).
contract CollateralPool is ICollateralPool {
    using SafeERC20 for IERC20;
    using FixedPointMath for uint256;

    uint256 private constant WAD = 1e18;
    /// @notice At most this many collateral tokens per market: a margin check reads each one held.
    uint256 public constant MAX_COLLATERALS = 8;

    /// @dev Packed by access: a margin check reads slot 0 only (oracle, weight, scale), a deposit
    ///      slots 0 and 1, a sale slots 0 and 2.
    struct Collateral {
        IPriceOracle oracle; // slot 0
        uint64 weight;
        uint8 scaleExponent; // 18 - decimals: token units x 10 ** scaleExponent = WAD, exactly
        uint8 bit; // 1 + index in `tokens`; 0 = not registered
        uint128 cap; // slot 1
        uint128 total; // token units held for all accounts
        uint64 liquidationDiscount; // slot 2
    }

    address public immutable router;
    IMarketForPool public immutable market;
    uint256 public immutable marketId;

    /// @notice Registered tokens, in registration order (bit i of `heldMask` is `tokens[i]`).
    address[] public tokens;
    mapping(address token => Collateral) internal _collateral;
    /// @notice Token units of `token` held for `account`.
    mapping(address account => mapping(address token => uint256)) public balanceOf;
    /// @notice Bit i set when `account` holds a non-zero balance of `tokens[i]`.
    mapping(address account => uint256) public heldMask;

    constructor(address router_, IMarketForPool market_, uint256 marketId_) {
        if (router_ == address(0) || address(market_) == address(0)) revert ZeroAddress();
        router = router_;
        market = market_;
        marketId = marketId_;
    }

    modifier onlyRouter() {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        _;
    }

    // ================================================================== router entry points

    /// @inheritdoc ICollateralPool
    function setCollateral(address token, IPriceOracle oracle, CollateralParams calldata params) external onlyRouter {
        if (token == address(0) || address(oracle) == address(0)) revert ZeroAddress();
        if (token == address(market.collateral())) revert SettlementTokenAsCollateral(token);
        Collateral storage c = _collateral[token];
        if (c.bit == 0) {
            uint256 n = tokens.length;
            if (n == MAX_COLLATERALS) revert TooManyCollaterals(MAX_COLLATERALS);
            uint8 decimals = IERC20Metadata(token).decimals();
            if (decimals > 18) revert CollateralDecimalsUnsupported(decimals);
            tokens.push(token);
            c.bit = uint8(n + 1);
            c.scaleExponent = 18 - decimals;
        }
        (c.oracle, c.weight, c.liquidationDiscount, c.cap) =
            (oracle, params.weight, params.liquidationDiscount, params.cap);
        emit Events.CollateralSet(token, address(oracle), params.weight, params.liquidationDiscount, params.cap);
    }

    /// @inheritdoc ICollateralPool
    function deposit(address account, address payer, address token, uint256 amount) external onlyRouter {
        Collateral storage c = _registered(token);
        if (amount == 0) revert ZeroAmount();
        uint256 total = c.total + amount;
        if (total > c.cap) revert CollateralCapExceeded(token, total, c.cap);
        c.total = uint128(total);
        balanceOf[account][token] += amount;
        heldMask[account] |= 1 << (c.bit - 1);
        emit Events.CollateralDeposited(account, token, payer, amount);
    }

    /// @inheritdoc ICollateralPool
    function withdraw(address account, address to, address token, uint256 amount) external onlyRouter {
        // checks
        Collateral storage c = _registered(token);
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[account][token];
        if (amount > balance) revert InsufficientCollateral(account, token, amount, balance);
        // effects
        _debit(account, token, c, balance - amount);
        c.total -= uint128(amount);
        // health check: the market settles funding and checks margin with the balance already lower
        market.onCollateralWithdrawn(account);
        emit Events.CollateralWithdrawn(account, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    // ================================================================== market entry point

    /// @inheritdoc ICollateralPool
    /// @dev Per token: the liquidator buys at `price x (1 - discount)`, rounded up, and pays the
    ///      units' cost rounded up: rounding favours the liquidated account. One exception: a sale
    ///      that repays the whole debt (`clearsDebt`) rounds its last unit up and charges only the
    ///      debt left for it. That gives the liquidator less than one token unit, once per debt, and
    ///      clears the debt to the wei instead of leaving dust debt that no unit could repay (which
    ///      would hold the haircut below 1 and lock the account's collateral). A partial repayment
    ///      rounds the units down, so repeated dust repayments cannot take a unit each.
    ///      The tokens move between balances; nothing leaves the pool.
    function seize(address account, address liquidator, uint256 maxRepay, bool clearsDebt)
        external
        returns (uint256 repaid, bool left)
    {
        if (msg.sender != address(market)) revert OnlyMarket(marketId, msg.sender);
        uint256 untried = heldMask[account];
        while (untried != 0 && repaid < maxRepay) {
            uint256 i = _lowestWeight(untried);
            untried &= ~(1 << i);
            repaid += _seizeOne(account, liquidator, tokens[i], maxRepay - repaid, clearsDebt);
        }
        left = heldMask[account] != 0;
    }

    function _seizeOne(address account, address liquidator, address token, uint256 maxRepay, bool clearsDebt)
        private
        returns (uint256 cost)
    {
        Collateral storage c = _collateral[token];
        (bool ok, uint256 price) = _tryPrice(c.oracle);
        if (!ok) return 0;
        uint256 unitPrice = price.mulWadUp(WAD - c.liquidationDiscount); // WAD per whole token (WAD units)
        uint256 scale = _scale(c);
        uint256 balance = balanceOf[account][token];
        uint256 amount = clearsDebt
            ? _divUp(maxRepay.mulDivUp(WAD, unitPrice), scale)
            : maxRepay.mulDivDown(WAD, unitPrice) / scale;
        if (amount >= balance) amount = balance;
        if (amount == 0) return 0;
        // the units' cost, rounded up; the last, rounded-up unit of a clearing sale costs what is left
        cost = (amount * scale).mulDivUp(unitPrice, WAD).min(maxRepay);
        _debit(account, token, c, balance - amount);
        balanceOf[liquidator][token] += amount;
        heldMask[liquidator] |= 1 << (c.bit - 1);
        emit Events.CollateralSeized(account, liquidator, token, amount, cost, price);
    }

    // ================================================================== views

    /// @inheritdoc ICollateralPool
    function valueOf(address account) external view returns (uint256 value, bool allPriced) {
        allPriced = true;
        uint256 mask = heldMask[account];
        while (mask != 0) {
            uint256 i = _lowestBit(mask);
            mask &= mask - 1;
            (uint256 v, bool ok) = _valueOne(account, tokens[i]);
            value += v;
            if (!ok) allPriced = false;
        }
    }

    function _valueOne(address account, address token) private view returns (uint256 value, bool ok) {
        Collateral storage c = _collateral[token];
        uint256 weight = c.weight;
        if (weight == 0) return (0, true); // delisted: counts nothing, needs no price
        uint256 price;
        (ok, price) = _tryPrice(c.oracle);
        if (ok) value = (balanceOf[account][token] * _scale(c)).mulDivDown(price, WAD).mulWadDown(weight);
    }

    /// @inheritdoc ICollateralPool
    function holdsCollateral(address account) external view returns (bool) {
        return heldMask[account] != 0;
    }

    /// @notice Every registered token with `account`'s balance and the margin it counts for (WAD;
    ///         zero where the oracle fails, and then `priced` is false): one call for a client.
    function balancesOf(address account)
        external
        view
        returns (address[] memory tokens_, uint256[] memory balances, uint256[] memory values, bool[] memory priced)
    {
        tokens_ = tokens;
        uint256 n = tokens_.length;
        (balances, values, priced) = (new uint256[](n), new uint256[](n), new bool[](n));
        for (uint256 i; i < n; ++i) {
            balances[i] = balanceOf[account][tokens_[i]];
            (values[i], priced[i]) = _valueOne(account, tokens_[i]);
        }
    }

    /// @notice The registered tokens.
    function collateralTokens() external view returns (address[] memory) {
        return tokens;
    }

    /// @notice A token's oracle, parameters and the units held for all accounts.
    function collateralOf(address token)
        external
        view
        returns (IPriceOracle oracle, CollateralParams memory params, uint256 scale, uint256 total)
    {
        Collateral storage c = _registered(token);
        return (c.oracle, CollateralParams(c.weight, c.liquidationDiscount, c.cap), _scale(c), c.total);
    }

    // ================================================================== internals

    function _registered(address token) private view returns (Collateral storage c) {
        c = _collateral[token];
        if (c.bit == 0) revert UnknownCollateral(token);
    }

    function _scale(Collateral storage c) private view returns (uint256) {
        return 10 ** c.scaleExponent;
    }

    function _debit(address account, address token, Collateral storage c, uint256 newBalance) private {
        balanceOf[account][token] = newBalance;
        if (newBalance == 0) heldMask[account] &= ~(1 << (c.bit - 1));
    }

    /// @dev A reverting or misbehaving oracle counts as a failed one: it never blocks the caller.
    function _tryPrice(IPriceOracle oracle) private view returns (bool ok, uint256 price) {
        try oracle.tryPrice() returns (bool ok_, uint256 price_) {
            return (ok_ && price_ > 0, price_);
        } catch {
            return (false, 0);
        }
    }

    /// @dev Index of the held token with the lowest weight (the lowest index on a tie): the riskiest
    ///      collateral is sold first, which raises the account's margin most per unit of debt repaid.
    function _lowestWeight(uint256 mask) private view returns (uint256 best) {
        uint256 bestWeight = type(uint256).max;
        while (mask != 0) {
            uint256 i = _lowestBit(mask);
            mask &= mask - 1;
            uint256 w = _collateral[tokens[i]].weight;
            if (w < bestWeight) (best, bestWeight) = (i, w);
        }
    }

    function _divUp(uint256 x, uint256 d) private pure returns (uint256) {
        return x == 0 ? 0 : (x - 1) / d + 1;
    }

    function _lowestBit(uint256 mask) private pure returns (uint256 i) {
        while (mask & (1 << i) == 0) ++i; // mask != 0 and < 2^MAX_COLLATERALS
    }
}
