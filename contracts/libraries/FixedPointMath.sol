// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ValueOverflow} from "./Errors.sol";

/// @title FixedPointMath
/// @notice WAD (1e18) fixed point. Every function names its rounding direction, and callers pick
///         the one that goes against the account that would gain: Down/Up for unsigned values,
///         Floor (toward -inf) / Ceil (toward +inf) for signed ones.
library FixedPointMath {
    uint256 internal constant WAD = 1e18;

    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return x * y / WAD;
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    function divWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return x * WAD / y;
    }

    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return x * y / d;
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        uint256 p = x * y;
        if (p == 0) return 0;
        // p >= 1, so p - 1 cannot wrap; (p - 1) / d + 1 <= p for d >= 1 (d == 0 still panics)
        unchecked {
            return (p - 1) / d + 1;
        }
    }

    /// @notice floor(x * y / d) for signed x, y and d > 0.
    function mulDivFloor(int256 x, int256 y, int256 d) internal pure returns (int256 q) {
        int256 p = x * y;
        // d > 0: the quotient cannot overflow (only min / -1 could; d == 0 still panics), and with a
        // remainder and p < 0, p < q <= 0, so q - 1 >= p cannot wrap
        unchecked {
            q = p / d;
            if (p % d != 0 && p < 0) q -= 1;
        }
    }

    /// @notice ceil(x * y / d) for signed x, y and d > 0.
    function mulDivCeil(int256 x, int256 y, int256 d) internal pure returns (int256 q) {
        int256 p = x * y;
        // d > 0: the quotient cannot overflow (only min / -1 could; d == 0 still panics), and with a
        // remainder and p > 0, 0 <= q < p, so q + 1 <= p cannot wrap
        unchecked {
            q = p / d;
            if (p % d != 0 && p > 0) q += 1;
        }
    }

    /// @notice |x|, defined for type(int256).min too.
    function abs(int256 x) internal pure returns (uint256) {
        // x < 0: x + 1 <= 0, -(x + 1) <= 2^255 - 1, and + 1 <= 2^255: nothing can wrap
        unchecked {
            return x >= 0 ? uint256(x) : uint256(-(x + 1)) + 1;
        }
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function clamp(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        return x < lo ? lo : (x > hi ? hi : x);
    }

    function toInt128(int256 x) internal pure returns (int128) {
        if (x > type(int128).max || x < type(int128).min) revert ValueOverflow(x);
        return int128(x);
    }

    function toInt152(int256 x) internal pure returns (int152) {
        if (x > type(int152).max || x < type(int152).min) revert ValueOverflow(x);
        return int152(x);
    }

    function toUint128(uint256 x) internal pure returns (uint128) {
        if (x > type(uint128).max) revert ValueOverflow(int256(x));
        return uint128(x);
    }
}
