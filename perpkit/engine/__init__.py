"""The matching engine: an order book per market (`book`), the chain side that checks,
settles and quotes (`engine`, through the adapter in `chain`), and a small HTTP API (`api`).

`book` is pure Python; `engine` needs a `ChainAdapter` (`ApeChain` for ape); nothing here
connects to a node on import.
"""

from perpkit.engine.book import Fill, OrderBook, Reason, SubmitResult, TimeInForce
from perpkit.engine.chain import ApeChain, ChainAdapter, MarketInfo, Receipt, Revert
from perpkit.engine.engine import Decision, Engine, EngineConfig, FlushReport, OrderHasher, cancel_message, sign_cancel

__all__ = [
    "ApeChain",
    "ChainAdapter",
    "Decision",
    "Engine",
    "EngineConfig",
    "Fill",
    "FlushReport",
    "MarketInfo",
    "OrderBook",
    "OrderHasher",
    "Reason",
    "Receipt",
    "Revert",
    "SubmitResult",
    "TimeInForce",
    "cancel_message",
    "sign_cancel",
]
