"""`ape run simulate`: the market simulation through the 5 August 2024 crash (see perpkit.simulation)."""

import sys
import time
from pathlib import Path

import click
from ape import accounts, chain, project
from rich.console import Console
from rich.progress import Progress

from perpkit.console import QuietCommand
from perpkit.simulation.prices import DEFAULT_FROM, DEFAULT_HOURS, load_window
from perpkit.simulation.chart import write_chart
from perpkit.simulation.report import write_csv
from perpkit.simulation.runner import SimConfig, Simulation


@click.command(cls=QuietCommand)
@click.option("--from", "start", default=DEFAULT_FROM, show_default=True, help="first candle (UTC)")
@click.option("--to", "end", default=None, help="stop before this candle (UTC); overrides --hours")
@click.option("--hours", default=DEFAULT_HOURS, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--accounts", "n_accounts", default=50, show_default=True, help="agents (2 are market makers)")
@click.option("--eth-margined", "eth_weth", default=10.0, show_default=True,
              help="WETH of the extra agent margined with WETH only, long BTC-USD at 6x (0: none)")
@click.option("--quick", is_flag=True, help="24 hours of the crash and 12 agents: under a minute")
@click.option("--out", "out_dir", default="simulation-output", show_default=True, type=click.Path(file_okay=False))
def cli(network, start, end, hours, seed, n_accounts, eth_weth, quick, out_dir):
    if not network.is_local:
        raise click.ClickException("the simulation drives mock feeds: run it on the local network")
    if quick:
        start, hours, end, n_accounts = "2024-08-04 18:00", 24, None, 12
    try:
        candles = load_window(start, hours, end, seed=seed)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    if n_accounts < 4:
        raise click.ClickException("--accounts must be at least 4 (2 market makers and 2 takers)")
    if eth_weth < 0:
        raise click.ClickException("--eth-margined must be 0 (no such agent) or a positive WETH amount")

    console = Console(soft_wrap=True)  # one line per figure, however narrow the terminal
    out = Path(out_dir)
    cfg = SimConfig(candles, accounts=n_accounts, seed=seed, out_dir=out, eth_margined_weth=eth_weth)
    began = time.monotonic()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{len(candles)} hours from {candles[0].label}", total=len(candles))
        sim = Simulation(project, chain, accounts, cfg, log=lambda line: None)
        result = sim.run(progress=lambda _h: progress.advance(task))
    write_csv(result.records, out / "hourly.csv")
    write_chart(result.records, result.liquidation_times, out / "chart.png")

    extra = f" + 1 margined with {eth_weth:g} WETH" if eth_weth else ""
    console.print(f"[bold]perpkit simulation[/]: {len(candles)} hours from {candles[0].label} UTC, "
                  f"{n_accounts} agents{extra}, seed {seed}, {time.monotonic() - began:.0f} s")
    for line in result.summary:
        console.print("  " + line)
    for check in result.checks:
        console.print(("  [green]" if check.ok else "  [red]") + check.line() + "[/]", markup=True)
    console.print(f"  chart {out / 'chart.png'}, hourly figures {out / 'hourly.csv'}")
    if not result.ok:
        sys.exit(1)
