"""`ape run engine`: the matching engine with its HTTP API on 127.0.0.1, for a deployment.

Traders (or `perpkit order --submit http://127.0.0.1:<port>`) POST signed orders; the engine
matches them, settles fills in batches as the matcher and publishes best bid/ask as the sampler.
Runs until interrupted.
"""

import json
import time
from pathlib import Path

import click
from ape import accounts, chain, project
from ape.cli import account_option

from perpkit.console import QuietCommand
from perpkit.deploy import LOCAL_CHAIN_ID
from perpkit.engine.api import serve
from perpkit.engine.chain import ApeChain
from perpkit.engine.engine import Engine, EngineConfig


@click.command(cls=QuietCommand)
@account_option(prompt=False)
@click.option("--deployments", "deployments_dir", default="deployments", show_default=True)
@click.option("--port", default=8600, show_default=True, help="HTTP port on 127.0.0.1")
@click.option("--batch-size", default=100, show_default=True, help="fills per settle transaction")
@click.option("--batch-interval", default=1.0, show_default=True, help="seconds a partial batch may wait")
@click.option("--seconds", default=0.0, show_default=True, help="stop after this long (0: until interrupted)")
def cli(network, account, deployments_dir, port, batch_size, batch_interval, seconds):
    chain_id = chain.chain_id
    record_path = Path(deployments_dir) / f"{chain_id}.json"
    if not record_path.exists():
        raise click.ClickException(f"no deployment record {record_path}: run `ape run deploy` on this network first")
    record = json.loads(record_path.read_text())
    if not chain.provider.get_code(record["router"]):
        raise click.ClickException(f"no code at router {record['router']}: {record_path} belongs to another chain")
    if account is None:
        if chain_id != LOCAL_CHAIN_ID:
            raise click.ClickException("--account (the matcher) is required on a live network")
        account = accounts.test_accounts[0]
    router = project.PerpRouter.at(record["router"])
    if router.matcher() != account.address:
        raise click.ClickException(f"{account.address} is not the router's matcher ({router.matcher()})")

    markets = {entry["id"]: project.PerpMarket.at(entry["address"]) for entry in record["markets"].values()}
    adapter = ApeChain(router, account, markets=markets, funding=project.FundingRate.at(record["fundingRate"]))
    engine = Engine(adapter, markets, EngineConfig(batch_size=batch_size, batch_interval=batch_interval), log=click.echo)
    server = serve(engine, "127.0.0.1", port)
    engine.start()
    click.echo(f"engine for chain {chain_id}, markets {sorted(markets)}: API on {server.url}")
    started = time.monotonic()
    try:
        while not seconds or time.monotonic() - started < seconds:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        engine.stop()
        server.stop()
        click.echo("engine stopped")
