"""perpkit: a perpetual-futures exchange driven from Python.

Importable without a running chain: constants and pure functions live here; anything
that talks to a node takes an ape or web3 object explicitly.
"""

WAD = 10**18

__all__ = ["WAD"]
