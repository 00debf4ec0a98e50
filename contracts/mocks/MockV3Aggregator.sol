// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "../oracle/AggregatorV3Interface.sol";

/// @title MockV3Aggregator
/// @notice Behaves like Chainlink's MockV3Aggregator (round ids, per-round history,
///         `updateAnswer`, `updateRoundData`), plus test levers the real feed does not have:
///         settable decimals, a reverting mode and an `answeredInRound` override to fake an
///         incomplete round. Local chains and tests only.
contract MockV3Aggregator is AggregatorV3Interface {
    /// @inheritdoc AggregatorV3Interface
    uint256 public constant override version = 4;

    uint8 private _decimals;
    /// @inheritdoc AggregatorV3Interface
    string public override description;

    int256 public latestAnswer;
    uint256 public latestTimestamp;
    uint256 public latestRound;
    /// @notice When true every read reverts (a broken or paused feed).
    bool public reverting;
    /// @notice When non-zero, `latestRoundData` reports it as `answeredInRound`.
    uint80 public answeredInRoundOverride;

    mapping(uint256 => int256) public getAnswer;
    mapping(uint256 => uint256) public getTimestamp;
    mapping(uint256 => uint256) private _getStartedAt;

    constructor(uint8 decimals_, int256 initialAnswer) {
        _decimals = decimals_;
        description = "v0.8/tests/MockV3Aggregator.sol";
        updateAnswer(initialAnswer);
    }

    /// @notice Starts a new round with `answer`, updated now.
    function updateAnswer(int256 answer) public {
        latestAnswer = answer;
        latestTimestamp = block.timestamp;
        latestRound++;
        getAnswer[latestRound] = answer;
        getTimestamp[latestRound] = block.timestamp;
        _getStartedAt[latestRound] = block.timestamp;
    }

    /// @notice Writes a round with explicit timestamps (e.g. a stale or future one) and makes it the latest.
    function updateRoundData(uint80 roundId, int256 answer, uint256 timestamp, uint256 startedAt) public {
        latestRound = roundId;
        latestAnswer = answer;
        latestTimestamp = timestamp;
        getAnswer[latestRound] = answer;
        getTimestamp[latestRound] = timestamp;
        _getStartedAt[latestRound] = startedAt;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view override returns (uint8) {
        require(!reverting, "MockV3Aggregator: reverting");
        return _decimals;
    }

    function setDecimals(uint8 decimals_) external {
        _decimals = decimals_;
    }

    function setDescription(string calldata description_) external {
        description = description_;
    }

    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function setAnsweredInRound(uint80 answeredInRound) external {
        answeredInRoundOverride = answeredInRound;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        require(!reverting, "MockV3Aggregator: reverting");
        return (roundId, getAnswer[roundId], _getStartedAt[roundId], getTimestamp[roundId], roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        require(!reverting, "MockV3Aggregator: reverting");
        uint80 round = uint80(latestRound);
        uint80 answeredIn = answeredInRoundOverride == 0 ? round : answeredInRoundOverride;
        return (round, getAnswer[round], _getStartedAt[round], getTimestamp[round], answeredIn);
    }
}
