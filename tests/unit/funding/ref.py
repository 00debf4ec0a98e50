"""FundingRate's formulas in Python with Solidity's integer semantics (division truncates toward
zero), so that the tests can state exact expected values instead of tolerances."""

WAD = 10**18
FUNDING_PERIOD = 8 * 3600
INDEX_SCALE = 10**27
SAMPLES = 30
MAX_SAMPLE_PREMIUM = WAD // 10


def sdiv(a: int, b: int) -> int:
    """Solidity's signed `a / b`: truncates toward zero (Python's `//` floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def clamp(x: int, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else x


def sample(bid: int, ask: int, index: int) -> int:
    """One premium sample: `(bid + ask) / 2 - index`, clamped to +-10 % of the index."""
    bound = sdiv(index * MAX_SAMPLE_PREMIUM, WAD)
    return clamp((bid + ask) // 2 - index, -bound, bound)


def ma30(samples: list[int]) -> int:
    """Mean of the last 30 samples, truncated toward zero; 0 with none."""
    window = samples[-SAMPLES:]
    return sdiv(sum(window), len(window)) if window else 0


def bounded_ma30(ma: int, index: int) -> int:
    """MA30 bounded to +-10 % of the current index (samples were clamped against older ones)."""
    bound = sdiv(index * MAX_SAMPLE_PREMIUM, WAD)
    return clamp(ma, -bound, bound)


def mark_price(ma: int, index: int) -> int:
    return index + bounded_ma30(ma, index)


def premium_index(ma: int, index: int) -> int:
    return sdiv(bounded_ma30(ma, index) * WAD, index)


def funding_rate(premium: int, interest: int = 10**14, premium_clamp: int = 5 * 10**14, cap: int = 10**16) -> int:
    """`F = clamp(P + clamp(I - P, -c, c), -cap, cap)`."""
    return clamp(premium + clamp(interest - premium, -premium_clamp, premium_clamp), -cap, cap)


def accrual(rate: int, index: int, elapsed: int) -> int:
    """Index increase (1e27 per base unit) over `elapsed` seconds at the fixed `rate`."""
    return sdiv(rate * index * elapsed, FUNDING_PERIOD * 10**9)


def payment(size: int, index_delta: int) -> int:
    """What an account pays (positive) or receives (negative): `size x delta / 1e27`, rounded up
    (toward +inf) so that the payer pays the extra wei and the receiver gets the lesser one."""
    p = size * index_delta
    return -((-p) // INDEX_SCALE)


def mine_at(chain, timestamp: int) -> None:
    """Mine one empty block at exactly `timestamp` (for views)."""
    chain.mine(1, timestamp=timestamp)
    assert chain.blocks.head.timestamp == timestamp


def next_tx_at(chain, timestamp: int) -> None:
    """The next transaction is mined at exactly `timestamp`."""
    chain.pending_timestamp = timestamp
