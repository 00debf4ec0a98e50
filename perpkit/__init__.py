"""perpkit: a perpetual-futures exchange driven from Python.

Importable without a running chain: constants and pure functions live here; anything
that talks to a node takes an ape or web3 object explicitly.
"""

from perpkit.model import WAD  # the one fixed-point scale, defined in the model

__all__ = ["WAD"]
