// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PerpMarket} from "./PerpMarket.sol";
import {IFundingRate} from "./interfaces/IFundingRate.sol";
import {IPriceOracle} from "./oracle/IPriceOracle.sol";
import {MarketParams} from "./libraries/Types.sol";

/// @title PerpMarketFactory
/// @notice Holds PerpMarket's creation code so that the router stays under the contract size limit.
///         The caller becomes the market's router: anyone may deploy markets, but only for themselves.
contract PerpMarketFactory {
    function create(
        uint256 marketId,
        IFundingRate fundingRate,
        IERC20 collateral,
        IPriceOracle oracle,
        MarketParams calldata params
    ) external returns (address) {
        return address(new PerpMarket(msg.sender, fundingRate, marketId, collateral, oracle, params));
    }
}
