"""`ape run deploy`: deploy perpkit to the selected network from `markets.yaml`.

Local chain (31337): also deploys mock tokens and feeds and funds the test accounts.
Live network: uses the configured feeds and tokens, asks before broadcasting (unless --yes).
Resumes from `deployments/<chainId>.json`; `--fresh` starts over.
"""

import click
from ape import accounts, chain, project
from ape.cli import account_option
from rich.console import Console
from rich.table import Table

from perpkit.console import QuietCommand
from perpkit.config import ConfigError, load
from perpkit.deploy import LOCAL_CHAIN_ID, DeploymentRecord, Deployer
from perpkit.errors import ErrorDecoder


def network_key(network) -> str:
    eco = network.ecosystem.name
    return network.name if eco == "ethereum" else f"{eco}-{network.name}"


@click.command(cls=QuietCommand)
@account_option(prompt=False)
@click.option("--config", "config_path", default="markets.yaml", show_default=True, help="market config file")
@click.option("--deployments", "deployments_dir", default="deployments", show_default=True, help="record folder")
@click.option("--fresh", is_flag=True, help="ignore the existing record and deploy everything anew")
@click.option("--yes", is_flag=True, help="do not ask before broadcasting to a live network")
def cli(network, account, config_path, deployments_dir, fresh, yes):
    try:
        config = load(config_path)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None

    chain_id = chain.chain_id
    local = chain_id == LOCAL_CHAIN_ID
    if account is None:
        if not local:
            raise click.ClickException("--account is required on a live network")
        account = accounts.test_accounts[0]

    record = DeploymentRecord.open(deployments_dir, chain_id, fresh=fresh)
    deployer = Deployer(project, chain, account, config, record, network_key(network))
    try:
        deployer.preflight()
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    if not local and not yes:
        click.confirm(
            f"Broadcast perpkit deployment to {network.ecosystem.name}:{network.name} (chain {chain_id}) "
            f"from {account.address}?",
            abort=True,
        )

    decoder = ErrorDecoder(ct.abi_as_json() if hasattr(ct, "abi_as_json") else [e.model_dump() for e in ct.abi]
                           for ct in project.contracts.values())
    try:
        deployer.run()
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    except Exception as err:  # a reverted or failed transaction: one line, record kept for resume
        raise click.ClickException(f"deploy stopped ({decoder.describe(err)}); rerun to resume") from None

    table = Table(title=f"perpkit on chain {chain_id} -> {record.path}")
    for col in ("step", "address", "gas used"):
        table.add_column(col)
    for step in deployer.steps:
        table.add_row(step.name, step.address, "skipped (deployed)" if step.gas_used is None else f"{step.gas_used:,}")
    Console().print(table)
