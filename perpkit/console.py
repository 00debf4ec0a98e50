"""The command class of perpkit's `ape run` scripts: ape's own lines (connecting, compiling,
`Confirmed 0x…`, `Contract will be deployed`, `SUCCESS`) are hidden unless `-v/--verbosity` is
given, so a script's output is its own one line per action. Warnings and errors still print."""

import click
from ape.cli import ConnectedProviderCommand
from ape.logging import LogLevel, logger

_VERBOSITY_FLAGS = ("-v", "--verbosity")


def verbosity_given(args: list[str]) -> bool:
    """Whether the command line sets ape's verbosity (`-v LVL`, `-vLVL`, `--verbosity[=]LVL`)."""
    return any(a in _VERBOSITY_FLAGS or a.startswith("--verbosity=") or (a.startswith("-v") and not a.startswith("--"))
               for a in args)


class QuietCommand(ConnectedProviderCommand):
    """`ConnectedProviderCommand` with ape's logger at WARNING unless the user asked for a level."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        quiet = not verbosity_given(args)
        rest = super().parse_args(ctx, args)  # runs the -v callback when the flag is there
        if quiet:
            logger.set_level(LogLevel.WARNING)
        return rest
