"""`ape run keeper`: a long-lived keeper for a perpkit deployment on the selected network.

Each tick: crank funding where the interval has passed, scan accounts (from events) with batched
health views, liquidate the unhealthy ones into the keeper's own margin account. On a local chain
it can also drive the mock feeds from a price path (`--price-csv` or `--random-walk`).
One log line per action, a summary every `--summary-every` ticks; exits non-zero only on an
unrecoverable error.
"""

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click
from ape import accounts, chain, project
from ape.cli import account_option

from perpkit.console import QuietCommand
from perpkit.deploy import LOCAL_CHAIN_ID
from perpkit.errors import ErrorDecoder
from perpkit.keeper import Keeper, book_quote_source, csv_price_path, handles_from_record, random_walk


def _log(line: str) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{stamp} {line}", err=False)
    sys.stdout.flush()


@click.command(cls=QuietCommand)
@account_option(prompt=False)
@click.option("--deployments", "deployments_dir", default="deployments", show_default=True)
@click.option("--interval", default=12.0, show_default=True, help="seconds between ticks")
@click.option("--crank-interval", default=3600, show_default=True, help="seconds between funding cranks")
@click.option("--ticks", default=0, show_default=True, help="stop after N ticks (0: run until stopped)")
@click.option("--summary-every", default=10, show_default=True)
@click.option("--price-csv", type=click.Path(exists=True, dir_okay=False), help="local only: feed prices from a CSV")
@click.option("--random-walk", "walk_seed", type=int, help="local only: seeded random-walk prices")
@click.option("--step-seconds", default=0, show_default=True, help="local only: advance chain time per tick")
@click.option("--quotes-from", "quotes_url", help="record best bid/ask from this engine API (when the keeper is the sampler)")
def cli(network, account, deployments_dir, interval, crank_interval, ticks, summary_every, price_csv, walk_seed,
        step_seconds, quotes_url):
    chain_id = chain.chain_id
    local = chain_id == LOCAL_CHAIN_ID
    record_path = Path(deployments_dir) / f"{chain_id}.json"
    if not record_path.exists():
        raise click.ClickException(f"no deployment record {record_path}: run `ape run deploy` on this network first")
    record = json.loads(record_path.read_text())
    if not chain.provider.get_code(record["router"]):
        raise click.ClickException(
            f"no code at router {record['router']} on chain {chain_id}: {record_path} belongs to another chain "
            "(the local network of `ape run` is a fresh Anvil; point --network at the node you deployed to)"
        )
    if account is None:
        if not local:
            raise click.ClickException("--account is required on a live network")
        account = accounts.test_accounts[0]
    if (price_csv or walk_seed is not None or step_seconds) and not local:
        raise click.ClickException("price paths and time steps drive mocks: local chains only")

    paths = None
    if price_csv or walk_seed is not None:
        paths = {}
        for name, entry in record["markets"].items():
            oracle = project.ChainlinkOracle.at(entry["oracle"])
            start = oracle.price() / 10**18
            paths[name] = csv_price_path(price_csv) if price_csv and name.startswith("BTC") else random_walk(
                start, (walk_seed or 0) + entry["id"]
            )
    handles = handles_from_record(project, record, local=local, price_paths=paths)
    decoder = ErrorDecoder([e.model_dump() for e in ct.abi] for ct in project.contracts.values())
    funding = project.FundingRate.at(record["fundingRate"])
    quotes = book_quote_source(quotes_url) if quotes_url else None
    keeper = Keeper(chain, funding, handles, account, crank_interval=crank_interval, log=_log, decoder=decoder,
                    quotes=quotes)
    _log(f"start chain={chain_id} keeper={account.address} markets={','.join(h.name for h in handles)}")

    advance = None
    if step_seconds:
        def advance():
            # Through the node's own RPC, which Anvil and Hardhat answer: ape's `chain.mine(deltatime=)`
            # needs the provider's set_timestamp, which ape-node's provider (ethereum:local:node) lacks.
            try:
                chain.provider.make_request("evm_increaseTime", [step_seconds])
                chain.provider.make_request("evm_mine", [])
            except Exception as err:  # noqa: BLE001 - a node without time travel: one line, exit 1
                raise click.ClickException(f"--step-seconds: the node cannot move its clock ({err})") from None
            if interval:
                time.sleep(interval)

    try:
        keeper.run(ticks=ticks, interval=interval, summary_every=summary_every, advance=advance)
    except KeyboardInterrupt:
        _log(keeper.summary())
    except Exception as err:  # unrecoverable: one line, non-zero exit
        raise click.ClickException(f"keeper stopped: {decoder.describe(err, human=True)}") from None
