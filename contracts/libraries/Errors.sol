// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Every custom error of perpkit, in one place, each carrying the values that failed.

// ---------------------------------------------------------------- common
/// @notice An address argument that must be set was zero.
error ZeroAddress();

// ---------------------------------------------------------------- oracle
/// @notice The feed's answer is zero or negative.
error OracleAnswerNotPositive(int256 answer);
/// @notice The feed's answer does not fit in WAD after scaling.
error OracleAnswerTooLarge(int256 answer);
/// @notice The round was never updated (`updatedAt == 0`).
error OracleRoundNotUpdated(uint80 roundId);
/// @notice The round claims to be updated after the current block.
error OracleUpdatedInFuture(uint256 updatedAt, uint256 blockTimestamp);
/// @notice The latest answer is older than the feed's heartbeat.
error OracleStale(uint256 updatedAt, uint256 heartbeat, uint256 blockTimestamp);
/// @notice The answer was carried over from an earlier round (`answeredInRound < roundId`).
error OracleRoundIncomplete(uint80 roundId, uint80 answeredInRound);
/// @notice The feed reverted or returned malformed data.
error OracleFeedReverted(address feed);
/// @notice The feed reports more decimals than WAD (18) can represent exactly.
error OracleDecimalsUnsupported(uint8 decimals);
/// @notice A heartbeat of zero or beyond `maxHeartbeat`.
error OracleHeartbeatOutOfBounds(uint256 heartbeat, uint256 maxHeartbeat);
/// @notice A sequencer grace period beyond `maxGracePeriod`.
error OracleGracePeriodOutOfBounds(uint256 gracePeriod, uint256 maxGracePeriod);
/// @notice The L2 sequencer-uptime feed reports the sequencer down (`answer != 0`).
error SequencerDown(int256 answer);
/// @notice The sequencer came back up at `upSince`; prices are refused until the grace period passed.
error SequencerGracePeriodNotOver(uint256 upSince, uint256 gracePeriod, uint256 blockTimestamp);
/// @notice The sequencer-uptime feed has no valid round (`startedAt == 0`) or reverted.
error SequencerStatusInvalid(address sequencerFeed);
/// @notice The Pyth feed has never published (`publishTime == 0`).
error PythPriceUnpublished(bytes32 priceId);
/// @notice A Pyth exponent outside [-18, 0]: the price cannot be scaled exactly to WAD.
error PythExponentUnsupported(int32 expo);
/// @notice The Pyth confidence interval is wider than `maxConfidence` (WAD) of the price.
error PythConfidenceTooWide(uint64 conf, int64 price, uint256 maxConfidence);
/// @notice A confidence bound of zero or beyond `maxConfidenceBound` (WAD).
error PythConfidenceBoundOutOfBounds(uint256 maxConfidence, uint256 maxConfidenceBound);

// ---------------------------------------------------------------- test tokens
/// @notice Free minting exists only on local development chains.
error MintingDisabled(uint256 chainId);

// ---------------------------------------------------------------- access
/// @notice Only the router may call this.
error OnlyRouter(address caller);
/// @notice Only the registered market of `marketId` may call this.
error OnlyMarket(uint256 marketId, address caller);
/// @notice Only the matcher may settle fills.
error OnlyMatcher(address caller);
/// @notice Only the sampler may record quotes.
error OnlySampler(address caller);
/// @notice Only the guardian (or the owner) may pause.
error OnlyGuardian(address caller);
/// @notice `caller` is neither `account` nor an operator it approved.
error NotAuthorized(address caller, address account);

// ---------------------------------------------------------------- parameters
/// @notice Parameter `name` = `value` is outside its hard bounds [`min`, `max`].
error ParamOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
/// @notice The safety envelope `imr > fundingRateCap + liquidationFee + priceBand` does not hold.
error EnvelopeViolated(uint256 initialMarginRatio, uint256 fundingRateCap, uint256 liquidationFee, uint256 priceBand);
/// @notice The collateral token has more decimals than WAD.
error CollateralDecimalsUnsupported(uint8 decimals);
/// @notice No market with this id.
error UnknownMarket(uint256 marketId);
/// @notice The market id is already registered.
error MarketAlreadyRegistered(uint256 marketId);
/// @notice The oracle cannot produce a price right now.
error OracleUnavailable(address oracle);

// ---------------------------------------------------------------- funding
/// @notice A quote with a zero bid or a crossed book (`bid > ask`).
error InvalidQuote(uint256 bid, uint256 ask);
/// @notice Bid and ask equal the last recorded ones: no new sample.
error QuoteUnchanged(uint256 bid, uint256 ask);
/// @notice A quote was already recorded in this block.
error QuoteAlreadyRecorded(uint256 marketId, uint256 blockNumber);

// ---------------------------------------------------------------- orders
/// @notice The two orders are not for the same market.
error MarketMismatch(uint256 makerMarketId, uint256 takerMarketId);
/// @notice The two orders are on the same side (or one has size zero).
error SameSide(int256 makerSize, int256 takerSize);
/// @notice The limit prices do not cross.
error PricesDoNotCross(uint256 makerLimitPrice, uint256 takerLimitPrice);
/// @notice The order expired at `expiry`.
error OrderExpired(bytes32 orderHash, uint256 expiry, uint256 blockTimestamp);
/// @notice The order was cancelled, one by one or by nonce.
error OrderIsCancelled(bytes32 orderHash);
/// @notice The fill amount is zero or larger than what remains of the order.
error FillExceedsOrder(bytes32 orderHash, uint256 amount, uint256 remaining);
/// @notice The signature is neither the trader's (EOA or ERC-1271) nor an approved operator's.
error InvalidSignature(address trader, bytes32 orderHash);
/// @notice `cancelUpTo` must raise the nonce floor.
error NonceNotIncreasing(uint256 nonce, uint256 minNonce);
/// @notice The settle batch is empty.
error EmptyBatch();

// ---------------------------------------------------------------- market
/// @notice A zero amount.
error ZeroAmount();
/// @notice Risk-increasing actions are paused in this market.
error MarketPaused(uint256 marketId);
/// @notice The fill price is further than `priceBand` from the index.
error FillPriceOutsideBand(uint256 price, uint256 index, uint256 priceBand);
/// @notice A reduce-only order would grow or flip the position.
error ReduceOnlyViolated(address account, int256 size, int256 delta);
/// @notice A non-zero position smaller than the market minimum.
error PositionBelowMinimum(address account, int256 size, uint256 minPositionSize);
/// @notice A side's open interest would exceed the cap.
error OpenInterestCapExceeded(bool long, uint256 openInterest, uint256 cap);
/// @notice The account would be below its required margin (`required` is initial or maintenance).
error InsufficientMargin(address account, int256 accountValue, uint256 required);
/// @notice A withdrawal larger than the account's withdrawable capital.
error InsufficientCapital(address account, uint256 amount, uint256 available);
/// @notice The account is at or above maintenance margin.
error NotLiquidatable(address account, int256 accountValue, uint256 maintenance);
/// @notice An account may not liquidate itself.
error SelfLiquidation(address account);
/// @notice The liquidation amount is zero or larger than the position.
error InvalidLiquidationAmount(uint256 amount, int256 size);
/// @notice A partial liquidation must leave the account at or above maintenance (else close it whole).
error PartialLiquidationUnhealthy(address account, int256 accountValue, uint256 maintenance);
/// @notice The account has no position to liquidate (flat, unknown or already closed).
error NoPosition(address account);
/// @notice Two arrays that pair up item by item have different lengths.
error LengthMismatch(uint256 accounts, uint256 amounts);
/// @notice A value does not fit the packed storage type.
error ValueOverflow(int256 value);

// ---------------------------------------------------------------- multi-collateral
/// @notice `token` is not a registered collateral of this market.
error UnknownCollateral(address token);
/// @notice The market's settlement token is margin as capital, not as a weighted collateral.
error SettlementTokenAsCollateral(address token);
/// @notice A market holds at most `max` collateral tokens.
error TooManyCollaterals(uint256 max);
/// @notice A deposit would take the market's holding of `token` past its cap.
error CollateralCapExceeded(address token, uint256 total, uint256 cap);
/// @notice A withdrawal larger than the account's balance of `token`.
error InsufficientCollateral(address account, address token, uint256 amount, uint256 balance);
/// @notice Only the market's collateral pool may call this.
error OnlyCollateralPool(address caller);
/// @notice The market already has its collateral pool.
error CollateralPoolAlreadySet(address pool);
/// @notice The account owes nothing in the settlement token.
error NoDebt(address account);
/// @notice No collateral of the account could be sold: none held, no working oracle, or dust.
error NothingToSeize(address account);
