"""The market simulation `make demo` runs: agents trade BTC-USD (real candles) and ETH-USD
(a synthetic path) through the matching engine, the keeper cranks and liquidates, and a report
checks the invariants. Chain-free parts (prices, agents, report) are importable on their own."""
