// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// A gas yardstick, not a product: the least work per fill that any `settle(Fill[])` with the
// features of issue 3 must do, to measure the floor under PerpRouter.settle. Per fill it
//   - hashes both orders (EIP-712: keccak of the type hash and 7 words, then of 0x1901, a cached
//     domain separator and the struct hash),
//   - recovers both signers (ecrecover x2) and requires each to be its order's trader,
//   - reads `filled[hash]` of both orders, requires the amount to fit, and writes `filled + amount`
//     (zero -> non-zero for a fresh order),
//   - updates both accounts: one packed word of size / openNotional and one packed word of
//     capital / pnl (read and written back changed: the real market charges a fee there),
//   - emits OrderFilled and two PositionChanged, with the signatures of contracts/libraries/Events.sol.
// It omits everything else PerpRouter + PerpMarket do: matcher check, market lookup and external
// call, expiry / side / price-cross / nonce-cancellation / reduce-only checks, ERC-1271 and
// operators, malleable-s rejection, oracle, funding accrual and settlement, fee computation,
// insurance, open interest and totals, margin checks.
// Structs as contracts/libraries/Types.sol, so the calldata of `settle` is byte-compatible.

struct Order {
    address trader;
    uint256 marketId;
    int256 size;
    uint256 limitPrice;
    uint256 nonce;
    uint256 expiry;
    bool reduceOnly;
}

struct Fill {
    Order maker;
    bytes makerSignature;
    Order taker;
    bytes takerSignature;
    uint256 amount;
}

contract SettleFloor {
    event OrderFilled(
        bytes32 indexed makerHash,
        bytes32 indexed takerHash,
        uint256 indexed marketId,
        address maker,
        address taker,
        int256 makerDelta,
        uint256 price
    );
    event PositionChanged(
        address indexed account,
        int256 size,
        int256 openNotional,
        uint256 price,
        int256 realizedPnl,
        uint256 fee
    );

    error InvalidSignature(address trader, bytes32 orderHash);
    error FillExceedsOrder(bytes32 orderHash, uint256 amount, uint256 remaining);

    /// @dev Two words per account, as PerpMarket packs them (its third word, the funding
    ///      snapshot, is left out: no funding here).
    struct Account {
        uint128 capital; // slot 0
        int128 pnl;
        int128 size; // slot 1
        int128 openNotional;
    }

    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint256 marketId,int256 size,uint256 limitPrice,uint256 nonce,uint256 expiry,bool reduceOnly)"
    );
    uint256 private constant WAD = 1e18;

    /// @dev Cached at deployment (the chain id is not re-checked per call: a floor).
    bytes32 public immutable DOMAIN_SEPARATOR;

    mapping(bytes32 orderHash => uint256) public filled;
    mapping(address account => Account) public accounts;

    constructor() {
        DOMAIN_SEPARATOR = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("PerpRouter"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    /// @notice Unmeasured set-up: give accounts capital, as a deposit would.
    function fund(address[] calldata accts, uint128 capital) external {
        for (uint256 i; i < accts.length; ++i) {
            accounts[accts[i]].capital += capital;
        }
    }

    function settle(Fill[] calldata fills) external {
        for (uint256 i; i < fills.length; ++i) {
            Fill calldata f = fills[i];
            Order calldata mk = f.maker;
            Order calldata tk = f.taker;
            uint256 amount = f.amount;
            bytes32 makerHash = _consume(mk, f.makerSignature, amount);
            bytes32 takerHash = _consume(tk, f.takerSignature, amount);
            int256 makerDelta = mk.size > 0 ? int256(amount) : -int256(amount);
            uint256 price = mk.limitPrice;
            emit OrderFilled(makerHash, takerHash, mk.marketId, mk.trader, tk.trader, makerDelta, price);
            _trade(mk.trader, makerDelta, price);
            _trade(tk.trader, -makerDelta, price);
        }
    }

    function hashOrder(Order calldata order) public view returns (bytes32) {
        return _digest(_structHash(order));
    }

    /// @dev The order's digest, its signer checked, and its fill recorded.
    function _consume(Order calldata o, bytes calldata signature, uint256 amount) private returns (bytes32 h) {
        h = _digest(_structHash(o));
        address trader = o.trader;
        address signer = _recover(h, signature);
        if (signer == address(0) || signer != trader) revert InvalidSignature(trader, h);
        _record(h, o.size, amount);
    }

    /// @dev Partial-fill tracking: one word per order. Variant NoFilled overrides it away.
    function _record(bytes32 h, int256 size, uint256 amount) internal virtual {
        uint256 done = filled[h];
        uint256 abs = size >= 0 ? uint256(size) : uint256(-size);
        if (amount > abs - done) revert FillExceedsOrder(h, amount, abs - done);
        filled[h] = done + amount;
    }

    /// @dev One account's side of the fill: size and entry notional, then the capital / pnl word
    ///      (capital less 1 wei, standing in for the fee or realised PnL a real fill books there:
    ///      any non-zero -> non-zero change of that word costs the same).
    function _trade(address account, int256 delta, uint256 price) private {
        Account storage a = accounts[account];
        int128 size = a.size + int128(delta);
        int128 openNotional = a.openNotional + int128((delta * int256(price)) / int256(WAD));
        (a.size, a.openNotional) = (size, openNotional);
        a.capital -= 1;
        emit PositionChanged(account, size, openNotional, price, 0, 0);
    }

    /// @dev keccak256(abi.encode(ORDER_TYPEHASH, order)) in scratch memory, as PerpRouter does.
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

    /// @dev keccak256("\x19\x01" || DOMAIN_SEPARATOR || structHash), as OpenZeppelin's
    ///      MessageHashUtils.toTypedDataHash.
    function _digest(bytes32 structHash) private view returns (bytes32 digest) {
        bytes32 domain = DOMAIN_SEPARATOR;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domain)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    /// @dev ecrecover of a 65-byte r || s || v read straight from calldata.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        return ecrecover(digest, v, r, s);
    }
}

/// @notice Variant (a): no `filled` word per order (as if replay protection were a nonce bitmap
///         whose words are already warm and dirty: ~200 gas an order, not counted here).
contract SettleFloorNoFilled is SettleFloor {
    function _record(bytes32, int256, uint256) internal pure override {}
}
