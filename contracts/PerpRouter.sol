// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IPerpRouter} from "./interfaces/IPerpRouter.sol";
import {IPerpMarket} from "./interfaces/IPerpMarket.sol";
import {IFundingRate} from "./interfaces/IFundingRate.sol";
import {IPriceOracle} from "./oracle/IPriceOracle.sol";
import {FundingRate} from "./FundingRate.sol";
import {PerpMarketFactory} from "./PerpMarketFactory.sol";
import {CollateralPool, IMarketForPool} from "./CollateralPool.sol";
import {ICollateralPool} from "./interfaces/ICollateralPool.sol";
import {MarketParams, FundingParams, CollateralParams, Order, Fill, Trade} from "./libraries/Types.sol";
import {ParamsLib} from "./libraries/ParamsLib.sol";
import {FixedPointMath} from "./libraries/FixedPointMath.sol";
import {Events} from "./libraries/Events.sol";
import "./libraries/Errors.sol";

/// @title PerpRouter
/// @notice Entry point of a deployment. One owner (two-step transfer) creates markets and sets
///         parameters within hard bounds; the matcher settles signed orders; the guardian pauses
///         risk-increasing actions; funding cranks and liquidations are permissionless.
contract PerpRouter is IPerpRouter, EIP712, Ownable2Step {
    using SafeERC20 for IERC20;

    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint256 marketId,int256 size,uint256 limitPrice,uint256 nonce,uint256 expiry,bool reduceOnly)"
    );
    uint256 private constant CANCELLED = type(uint256).max;

    PerpMarketFactory public immutable factory;
    IFundingRate public immutable fundingRate;

    address public matcher;
    address public guardian;

    /// @dev Market addresses by id (never zero once created), and how many there are: a lookup is
    ///      one storage read, not an array's length and element.
    mapping(uint256 marketId => address) internal _marketOf;
    uint256 internal _marketCount;
    /// @inheritdoc IPerpRouter
    mapping(uint256 marketId => ICollateralPool) public collateralPoolOf;
    mapping(address account => mapping(address operator => bool)) public isOperator;
    /// @inheritdoc IPerpRouter
    mapping(bytes32 orderHash => uint256) public filled;
    /// @notice Orders with a nonce below this are cancelled.
    mapping(address trader => uint256) public minNonce;

    constructor(address owner_, PerpMarketFactory factory_) EIP712("PerpRouter", "1") Ownable(owner_) {
        if (address(factory_) == address(0)) revert ZeroAddress();
        factory = factory_;
        fundingRate = new FundingRate(address(this));
    }

    // ================================================================== governance

    /// @inheritdoc IPerpRouter
    function createMarket(IERC20 collateral, IPriceOracle oracle, MarketParams calldata params, FundingParams calldata funding)
        external
        onlyOwner
        returns (uint256 marketId, address market)
    {
        _checkParams(params, funding);
        if (address(oracle) == address(0) || address(collateral) == address(0)) revert ZeroAddress();
        (bool ok,) = oracle.tryPrice();
        if (!ok) revert OracleUnavailable(address(oracle));
        marketId = _marketCount;
        market = factory.create(marketId, fundingRate, collateral, oracle, params);
        _marketOf[marketId] = market;
        _marketCount = marketId + 1;
        fundingRate.registerMarket(marketId, market, funding);
        emit Events.MarketCreated(marketId, market, address(collateral), address(oracle));
    }

    /// @notice Sets a market's risk parameters (owner; hard bounds and envelope).
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        IFundingRate fr = fundingRate;
        _checkParams(params, FundingRate(address(fr)).paramsOf(marketId));
        _market(marketId).setParams(params);
    }

    /// @notice Sets a market's funding parameters (owner; hard bounds and envelope).
    function setFundingParams(uint256 marketId, FundingParams calldata funding) external onlyOwner {
        _checkParams(_market(marketId).params(), funding);
        fundingRate.setParams(marketId, funding);
    }

    /// @notice Points a market at a new oracle, which must produce a price now (owner).
    function setOracle(uint256 marketId, IPriceOracle oracle) external onlyOwner {
        if (address(oracle) == address(0)) revert ZeroAddress();
        (bool ok,) = oracle.tryPrice();
        if (!ok) revert OracleUnavailable(address(oracle));
        _market(marketId).setOracle(oracle);
        fundingRate.syncOracle(marketId);
    }

    /// @inheritdoc IPerpRouter
    function setCollateral(uint256 marketId, IERC20 token, IPriceOracle oracle, CollateralParams calldata params)
        external
        onlyOwner
    {
        IPerpMarket market = _market(marketId);
        ParamsLib.validate(params);
        if (address(oracle) == address(0)) revert ZeroAddress();
        (bool ok,) = oracle.tryPrice();
        if (!ok) revert OracleUnavailable(address(oracle));
        ICollateralPool pool = collateralPoolOf[marketId];
        if (address(pool) == address(0)) {
            pool = new CollateralPool(address(this), IMarketForPool(address(market)), marketId);
            collateralPoolOf[marketId] = pool;
            market.setCollateralPool(pool);
            emit Events.CollateralPoolCreated(marketId, address(pool));
        }
        pool.setCollateral(address(token), oracle, params);
    }

    function setMatcher(address matcher_) external onlyOwner {
        matcher = matcher_;
        emit Events.RoleSet("matcher", matcher_);
    }

    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit Events.RoleSet("guardian", guardian_);
    }

    function setSampler(address sampler_) external onlyOwner {
        fundingRate.setSampler(sampler_);
        emit Events.RoleSet("sampler", sampler_);
    }

    /// @notice Pauses or unpauses risk-increasing actions in a market (guardian or owner). Closing,
    ///         withdrawing from a flat account and liquidating stay open.
    function setPaused(uint256 marketId, bool paused) external {
        if (msg.sender != guardian && msg.sender != owner()) revert OnlyGuardian(msg.sender);
        _market(marketId).setPaused(paused);
    }

    // ================================================================== collateral

    /// @inheritdoc IPerpRouter
    function deposit(uint256 marketId, uint256 amount) external {
        _deposit(marketId, msg.sender, amount);
    }

    /// @inheritdoc IPerpRouter
    function depositFor(uint256 marketId, address account, uint256 amount) external {
        if (account == address(0)) revert ZeroAddress();
        _deposit(marketId, account, amount);
    }

    /// @inheritdoc IPerpRouter
    function withdraw(uint256 marketId, uint256 amount) external {
        _market(marketId).withdraw(msg.sender, msg.sender, amount);
    }

    /// @inheritdoc IPerpRouter
    function withdrawFor(uint256 marketId, address account, uint256 amount) external {
        if (!isOperator[account][msg.sender]) revert NotAuthorized(msg.sender, account);
        _market(marketId).withdraw(account, account, amount);
    }

    /// @dev Credits what actually arrived, so a fee-on-transfer token cannot inflate the vault.
    function _deposit(uint256 marketId, address account, uint256 amount) private {
        IPerpMarket market = _market(marketId);
        if (amount == 0) revert ZeroAmount();
        IERC20 token = IERC20(PerpMarketLike(address(market)).collateral());
        uint256 before = token.balanceOf(address(market));
        token.safeTransferFrom(msg.sender, address(market), amount);
        uint256 received = token.balanceOf(address(market)) - before;
        market.deposit(account, msg.sender, received);
    }

    /// @inheritdoc IPerpRouter
    function depositCollateral(uint256 marketId, IERC20 token, uint256 amount) external {
        _depositCollateral(marketId, msg.sender, token, amount);
    }

    /// @inheritdoc IPerpRouter
    function depositCollateralFor(uint256 marketId, address account, IERC20 token, uint256 amount) external {
        if (account == address(0)) revert ZeroAddress();
        _depositCollateral(marketId, account, token, amount);
    }

    /// @inheritdoc IPerpRouter
    function withdrawCollateral(uint256 marketId, IERC20 token, uint256 amount) external {
        _pool(marketId).withdraw(msg.sender, msg.sender, address(token), amount);
    }

    /// @inheritdoc IPerpRouter
    function withdrawCollateralFor(uint256 marketId, address account, IERC20 token, uint256 amount) external {
        if (!isOperator[account][msg.sender]) revert NotAuthorized(msg.sender, account);
        _pool(marketId).withdraw(account, account, address(token), amount);
    }

    /// @dev Credits what actually arrived (a fee-on-transfer token counts net of its fee); the cap
    ///      applies to that amount.
    function _depositCollateral(uint256 marketId, address account, IERC20 token, uint256 amount) private {
        ICollateralPool pool = _pool(marketId);
        if (amount == 0) revert ZeroAmount();
        uint256 before = token.balanceOf(address(pool));
        token.safeTransferFrom(msg.sender, address(pool), amount);
        uint256 received = token.balanceOf(address(pool)) - before;
        pool.deposit(account, msg.sender, address(token), received);
    }

    function _pool(uint256 marketId) private view returns (ICollateralPool pool) {
        pool = collateralPoolOf[marketId];
        if (address(pool) == address(0)) {
            _market(marketId); // an unknown market says so
            revert UnknownCollateral(address(0));
        }
    }

    /// @inheritdoc IPerpRouter
    function setOperator(address operator, bool approved) external {
        if (operator == address(0)) revert ZeroAddress();
        isOperator[msg.sender][operator] = approved;
        emit Events.OperatorSet(msg.sender, operator, approved);
    }

    // ================================================================== orders

    /// @inheritdoc IPerpRouter
    function hashOrder(Order calldata order) public view returns (bytes32) {
        return _hashTypedDataV4(_structHash(order));
    }

    /// @dev `keccak256(abi.encode(ORDER_TYPEHASH, order))`, hashed in scratch memory (nothing
    ///      allocated): an Order is seven static words in calldata, copied as they are once the
    ///      address and the bool are checked canonical, as the ABI decoder would check them.
    function _structHash(Order calldata order) private pure returns (bytes32 structHash) {
        bytes32 typeHash = ORDER_TYPEHASH;
        assembly ("memory-safe") {
            if or(shr(160, calldataload(order)), gt(calldataload(add(order, 0xc0)), 1)) { revert(0, 0) }
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), order, 0xe0)
            structHash := keccak256(m, 0x100)
        }
    }

    /// @notice The EIP-712 domain separator (this chain, this router).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IPerpRouter
    function cancelOrder(Order calldata order) external {
        if (msg.sender != order.trader && !isOperator[order.trader][msg.sender]) {
            revert NotAuthorized(msg.sender, order.trader);
        }
        bytes32 orderHash = hashOrder(order);
        if (filled[orderHash] == CANCELLED) revert OrderIsCancelled(orderHash);
        filled[orderHash] = CANCELLED;
        emit Events.OrderCancelled(order.trader, orderHash);
    }

    /// @inheritdoc IPerpRouter
    function cancelUpTo(uint256 nonce) external {
        uint256 floor = minNonce[msg.sender];
        if (nonce == type(uint256).max || nonce + 1 <= floor) revert NonceNotIncreasing(nonce, floor);
        minNonce[msg.sender] = nonce + 1;
        emit Events.NoncesCancelled(msg.sender, nonce + 1);
    }

    /// @inheritdoc IPerpRouter
    /// @dev Consecutive fills of one market go to it in one call, so the oracle and the funding
    ///      index are read once per run.
    function settle(Fill[] calldata fills) external {
        if (msg.sender != matcher) revert OnlyMatcher(msg.sender);
        uint256 n = fills.length;
        if (n == 0) revert EmptyBatch();
        Trade[] memory trades = new Trade[](n);
        uint256 runStart;
        for (uint256 i; i < n; ++i) {
            Fill calldata f = fills[i];
            _validateFill(f, trades[i]);
            uint256 marketId = f.maker.marketId;
            if (i + 1 == n || fills[i + 1].maker.marketId != marketId) {
                _market(marketId).executeTrades(_slice(trades, runStart, i + 1));
                runStart = i + 1;
            }
        }
    }

    /// @dev Every order check: same market, opposite sides, crossing prices, expiry, cancellation,
    ///      remaining amount and signatures; then records the fill into `t` (the batch's element).
    function _validateFill(Fill calldata f, Trade memory t) private {
        Order calldata mk = f.maker;
        Order calldata tk = f.taker;
        if (mk.marketId != tk.marketId) revert MarketMismatch(mk.marketId, tk.marketId);
        if (mk.size == 0 || tk.size == 0 || (mk.size > 0) == (tk.size > 0)) revert SameSide(mk.size, tk.size);
        // The maker sells at its limit: the buyer's limit must be at least that, and vice versa.
        if (mk.size < 0 ? tk.limitPrice < mk.limitPrice : tk.limitPrice > mk.limitPrice) {
            revert PricesDoNotCross(mk.limitPrice, tk.limitPrice);
        }
        bytes32 makerHash = _consume(mk, f.makerSignature, f.amount);
        bytes32 takerHash = _consume(tk, f.takerSignature, f.amount);
        (t.maker, t.taker, t.price) = (mk.trader, tk.trader, mk.limitPrice);
        t.makerDelta = mk.size > 0 ? int256(f.amount) : -int256(f.amount);
        (t.makerReduceOnly, t.takerReduceOnly) = (mk.reduceOnly, tk.reduceOnly);
        emit Events.OrderFilled(makerHash, takerHash, mk.marketId, t.maker, t.taker, t.makerDelta, t.price);
    }

    function _consume(Order calldata o, bytes calldata signature, uint256 amount) private returns (bytes32 orderHash) {
        orderHash = hashOrder(o);
        if (block.timestamp > o.expiry) revert OrderExpired(orderHash, o.expiry, block.timestamp);
        uint256 done = filled[orderHash];
        address trader = o.trader;
        if (done == CANCELLED || o.nonce < minNonce[trader]) revert OrderIsCancelled(orderHash);
        uint256 size = FixedPointMath.abs(o.size);
        if (amount == 0 || amount > size - done) revert FillExceedsOrder(orderHash, amount, size - done);
        if (!_isValidSigner(trader, orderHash, signature)) revert InvalidSignature(trader, orderHash);
        filled[orderHash] = done + amount;
    }

    /// @dev The trader itself (EOA through ECDSA, which rejects malleable `s`, or an ERC-1271
    ///      wallet), or an operator the trader approved.
    ///      The ECDSA recovery comes first: an EOA's own signature then costs no EXTCODESIZE.
    function _isValidSigner(address trader, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address signer, ECDSA.RecoverError err) = _tryRecover(digest, signature);
        bool recovered = err == ECDSA.RecoverError.NoError;
        if (recovered && signer == trader) return true;
        if (trader.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(trader, digest, signature)) return true;
        return recovered && isOperator[trader][signer];
    }

    /// @dev `ECDSA.tryRecover(digest, signature)` read straight from calldata (no copy to memory):
    ///      65 bytes `r, s, v`, the same checks (length, malleable `s`, zero signer).
    function _tryRecover(bytes32 digest, bytes calldata signature) private pure returns (address, ECDSA.RecoverError) {
        if (signature.length != 65) return (address(0), ECDSA.RecoverError.InvalidSignatureLength);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        return (signer, err);
    }

    /// @dev `trades[from:to]`; the whole array when the batch is a single market (the common case).
    function _slice(Trade[] memory trades, uint256 from, uint256 to) private pure returns (Trade[] memory out) {
        if (from == 0 && to == trades.length) return trades;
        out = new Trade[](to - from);
        for (uint256 i = from; i < to; ++i) {
            out[i - from] = trades[i];
        }
    }

    // ================================================================== views

    /// @inheritdoc IPerpRouter
    function marketCount() external view returns (uint256) {
        return _marketCount;
    }

    /// @inheritdoc IPerpRouter
    function markets(uint256 marketId) external view returns (address) {
        return address(_market(marketId));
    }

    function _market(uint256 marketId) private view returns (IPerpMarket) {
        address market = _marketOf[marketId];
        if (market == address(0)) revert UnknownMarket(marketId);
        return IPerpMarket(market);
    }

    function _checkParams(MarketParams memory params, FundingParams memory funding) private pure {
        ParamsLib.validate(params);
        ParamsLib.validate(funding);
        ParamsLib.checkEnvelope(params, funding);
    }
}

interface PerpMarketLike {
    function collateral() external view returns (address);
}
