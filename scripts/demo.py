"""`ape run demo`: the oracle layer on a fresh local chain.

Deploys a mock BTC/USD feed (8 decimals) and a ChainlinkOracle over it, walks the mock price
through a few answers, then shows the oracle refusing a stale and a zero answer.
"""

import click
from ape import accounts, chain, project
from ape.exceptions import ContractLogicError

from perpkit.console import QuietCommand
from perpkit.errors import ErrorDecoder

HEARTBEAT = 3600
FEED_DECIMALS = 8


def _describe(oracle) -> str:
    ok, wad = oracle.tryPrice()
    if ok:
        return f"{wad / 10**18:>12,.2f} USD  (wad {wad})"
    try:
        oracle.price(skip_trace=True)
    except ContractLogicError as err:
        return "refused: " + ErrorDecoder([oracle.contract_type.model_dump()["abi"]]).describe(err)
    return "refused"


@click.command(cls=QuietCommand)
def cli(network):
    if not network.is_local:
        raise click.ClickException("the demo deploys mocks; run it on the local network only")
    deployer = accounts.test_accounts[0]
    feed = deployer.deploy(project.MockV3Aggregator, FEED_DECIMALS, 42_288_06000000)
    zero = "0x" + "00" * 20
    oracle = deployer.deploy(project.ChainlinkOracle, feed, HEARTBEAT, zero, 0)
    click.echo(f"feed   {feed.address}  ({feed.decimals()} decimals)")
    click.echo(f"oracle {oracle.address}  (heartbeat {HEARTBEAT} s)")

    # Closes of BTC/USD on 5 August 2024 (Coinbase hourly candles, ../shared/data).
    for answer in (58_116_99000000, 54_021_41000000, 49_880_00000000, 53_991_36000000):
        feed.updateAnswer(answer, sender=deployer)
        click.echo(f"feed answer {answer:>16}  -> oracle {_describe(oracle)}")

    chain.mine(1, deltatime=HEARTBEAT + 1)
    click.echo(f"{HEARTBEAT + 1} s later (stale)      -> oracle {_describe(oracle)}")
    feed.updateAnswer(0, sender=deployer)
    click.echo(f"feed answer {0:>16}  -> oracle {_describe(oracle)}")
