// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PerpRouter} from "perpkit/PerpRouter.sol";
import {PerpMarket} from "perpkit/PerpMarket.sol";
import {PerpMarketFactory} from "perpkit/PerpMarketFactory.sol";
import {ChainlinkOracle} from "perpkit/oracle/ChainlinkOracle.sol";
import {AggregatorV3Interface} from "perpkit/oracle/AggregatorV3Interface.sol";
import {IPriceOracle} from "perpkit/oracle/IPriceOracle.sol";
import {MockERC20} from "perpkit/mocks/MockERC20.sol";
import {MockV3Aggregator} from "perpkit/mocks/MockV3Aggregator.sol";
import {MarketParams, FundingParams, Order} from "perpkit/libraries/Types.sol";

import {Handler} from "./Handler.sol";
import {vm} from "./Vm.sol";

/// @notice forge's invariant fuzzer over the real suite, deployed as tests/conftest.py
///         `make_exchange` does, driven by `Handler` (the Python state machine's actions).
///         One invariant function, so that forge runs one campaign (runs x depth calls) and
///         checks all three properties after every call.
contract ExchangeInvariantTest {
    uint256 internal constant WAD = 1e18;

    // Anvil's default accounts 0, 5, 6 (owner, matcher, guardian) and 1, 2, 4, 3 (alice, bob,
    // carol, keeper), as the Python tests use them.
    uint256 internal constant OWNER_KEY = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;
    uint256 internal constant MATCHER_KEY = 0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba;
    uint256 internal constant GUARDIAN_KEY = 0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e;
    uint256 internal constant ALICE_KEY = 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d;
    uint256 internal constant BOB_KEY = 0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a;
    uint256 internal constant CAROL_KEY = 0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a;
    uint256 internal constant KEEPER_KEY = 0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6;

    PerpRouter internal router;
    PerpMarket internal market;
    MockERC20 internal token;
    MockV3Aggregator internal feed;
    Handler internal handler;

    function setUp() public {
        vm.warp(1_767_225_600); // 2026-01-01, block 1 on: a realistic clock for expiries and the feed
        vm.roll(1);
        address owner = vm.addr(OWNER_KEY);
        address matcher = vm.addr(MATCHER_KEY);

        vm.startPrank(owner);
        PerpMarketFactory factory = new PerpMarketFactory();
        router = new PerpRouter(owner, factory);
        token = new MockERC20("USD Coin", "USDC", 6);
        feed = new MockV3Aggregator(8, 60_000e8);
        ChainlinkOracle oracle =
            new ChainlinkOracle(AggregatorV3Interface(address(feed)), 86_400, AggregatorV3Interface(address(0)), 0);
        // tests/conftest.py DEFAULT_PARAMS and DEFAULT_FUNDING.
        MarketParams memory params = MarketParams({
            initialMarginRatio: uint64(WAD / 10),
            maintenanceMarginRatio: uint64(WAD / 20),
            liquidationFee: uint64(WAD / 100),
            liquidatorShare: uint64(WAD / 2),
            makerFee: 2e14,
            takerFee: 5e14,
            priceBand: uint64(5 * WAD / 100),
            maxOpenInterest: uint128(1_000 * WAD),
            minPositionSize: uint128(WAD / 1000)
        });
        FundingParams memory fundingParams = FundingParams({interestRate: 1e14, premiumClamp: 5e14, rateCap: 1e16});
        (, address marketAddress) =
            router.createMarket(IERC20(address(token)), IPriceOracle(address(oracle)), params, fundingParams);
        market = PerpMarket(marketAddress);
        router.setMatcher(matcher);
        router.setSampler(matcher);
        router.setGuardian(vm.addr(GUARDIAN_KEY));
        vm.stopPrank();

        handler = new Handler(
            router,
            market,
            token,
            feed,
            matcher,
            [ALICE_KEY, BOB_KEY, CAROL_KEY, KEEPER_KEY],
            [uint256(20_000), 30_000, 40_000, 50_000]
        );

        // The handler signs what the router verifies.
        Order memory probe = Order(vm.addr(ALICE_KEY), 0, 1e15, 60_000e18, 7, 2e9, false);
        require(handler.domainSeparator() == router.domainSeparator(), "EIP-712 domain differs");
        require(handler.orderDigest(probe) == router.hashOrder(probe), "order digest differs");
        (uint256 longs,) = market.openInterest();
        require(longs > 0, "the opening trade did not fill");
    }

    /// Only the handler is fuzzed (not the contracts it deployed).
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_market() public view {
        uint256 vault = market.vault();
        require(token.balanceOf(address(market)) * market.collateralScale() == vault, "token balance x scale != vault");
        require(vault >= uint256(market.capitalTotal()) + market.insuranceFund(), "vault < capital + insurance");
        (uint256 longs, uint256 shorts) = market.openInterest();
        require(longs == shorts, "open interest longs != shorts");
        require(market.haircut() <= WAD, "haircut > 1");
    }
}
