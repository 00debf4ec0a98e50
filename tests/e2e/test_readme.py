"""README.md's commands, run as written: every line of every ```bash block, in document order, as
one reader would type them, so the documentation cannot rot.

A block right after the line `<!-- readme-test: skip -->` (invisible on the rendered page) is not
run: live networks (Sepolia, Fraxtal, `$..._RPC_URL`) and the make targets CI runs by itself.
Everything else must exit 0 without a traceback; a line ending in `&` is started in the
background (an Anvil, the engine), must come up on its `--port`, and runs until the test ends.

Only what a shared checkout and parallel CI need is rewritten, the same way in every line:
- each port a line names (8545, 8600, ...) becomes a free one, and `ethereum:local:node` (ape's
  node at 8545) becomes `ethereum:local:http://127.0.0.1:<that free port>`: every command of
  the README so also proves it works against a node on another port;
- deployment records go to a temporary folder (`--deployments` appended to `ape run` commands,
  `PERPKIT_DEPLOYMENTS` for `perpkit`; a folder a line names moves under it), so the checkout's
  `deployments/` is never written; an `ape run` without `--network` (an Anvil of its own) gets
  its own folder;
- `PERPKIT_RPC` points the CLI's default node (8545) at the free port that stands for 8545;
- `perpkit` is the venv's.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e._anvil import PERPKIT, ROOT, free_port

README = ROOT / "README.md"
SKIP = "<!-- readme-test: skip -->"
# What a README command may start with; anything else must be in a skipped block.
PROGRAMS = {".venv/bin/ape", "perpkit", ".venv/bin/perpkit", "node_modules/.bin/anvil", "curl"}
LIVE = re.compile(r"sepolia|fraxtal|_RPC_URL", re.IGNORECASE)
TIMEOUT = 240  # seconds a foreground line may take (a deploy is ~10 s, a CLI line 2-5 s)
UP_WITHIN = 120  # seconds a background line has to open its port (the engine imports ape first)


@dataclass
class Line:
    number: int  # in README.md
    text: str
    skipped: bool


def readme_lines(text: str) -> list[Line]:
    """Every command line of the ```bash blocks; comments and blank lines dropped."""
    lines, block, skipped, previous = [], None, False, ""
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if block is None:
            if stripped == "```bash":
                block, skipped = [], previous == SKIP
            elif stripped:
                previous = stripped
            continue
        if stripped == "```":
            block, previous = None, ""
            continue
        command = stripped.split(" #", 1)[0].strip() if not stripped.startswith("#") else ""
        if command:
            lines.append(Line(number, command, skipped))
    return lines


@dataclass
class Reader:
    """Runs README lines one after another; keeps the background processes and their logs."""

    tmp: Path
    ports: dict[str, str] = field(default_factory=dict)
    background: list[tuple[Line, subprocess.Popen, Path]] = field(default_factory=list)

    def port(self, readme_port: str) -> str:
        if readme_port not in self.ports:
            self.ports[readme_port] = str(free_port())
        return self.ports[readme_port]

    def rewrite(self, text: str) -> tuple[list[str], bool]:
        """The argv of a README line (see the module docstring) and whether it runs in the background."""
        args = shlex.split(text)
        detached = args[-1:] == ["&"]
        args = args[:-1] if detached else args
        args = [a.replace("ethereum:local:node", "ethereum:local:http://127.0.0.1:8545") for a in args]
        args = [re.sub(r"(?<=127\.0\.0\.1:)(\d+)", lambda m: self.port(m.group(1)), a) for a in args]
        args = [self.port(a) if i and args[i - 1] == "--port" else a for i, a in enumerate(args)]
        if "--deployments" in args:
            at = args.index("--deployments") + 1
            args[at] = str(self.tmp / args[at])
        elif args[:2] == [".venv/bin/ape", "run"]:
            folder = "deployments" if any(a.startswith("--network") for a in args) else "embedded"
            args += ["--deployments", str(self.tmp / folder)]
        if args[0] in ("perpkit", ".venv/bin/perpkit"):
            args[0] = str(PERPKIT)
        return args, detached

    def env(self) -> dict:
        # The CLI's own default node is the README's 8545 too.
        return {**os.environ, "PERPKIT_DEPLOYMENTS": str(self.tmp / "deployments"),
                "PERPKIT_RPC": f"http://127.0.0.1:{self.port('8545')}"}

    def run(self, line: Line) -> str | None:
        """None when the line worked, else what went wrong."""
        args, detached = self.rewrite(line.text)
        if detached:
            return self.start(line, args)
        try:
            done = subprocess.run(args, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return f"still running after {TIMEOUT} s"
        output = done.stdout + done.stderr
        if done.returncode != 0 or "Traceback" in output:
            return f"exit {done.returncode}: {output.strip()[-1500:]}"
        return None

    def start(self, line: Line, args: list[str]) -> str | None:
        log = self.tmp / f"background-{line.number}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.background.append((line, proc, log))
        port = args[args.index("--port") + 1] if "--port" in args else None
        deadline = time.monotonic() + UP_WITHIN
        while port is not None and not listening(int(port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                return f"not listening on its --port (exit {proc.poll()}): {log.read_text()[-1500:]}"
            time.sleep(0.3)
        return None

    def stop(self) -> list[str]:
        """Stops the background processes, last started first; the tracebacks they logged."""
        problems = []
        for line, proc, log in reversed(self.background):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            if "Traceback" in log.read_text():
                problems.append(f"README.md:{line.number}: {line.text}\n    {log.read_text()[-1500:]}")
        return problems


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_readme__every_local_command_block__runs_as_written(tmp_path):
    lines = readme_lines(README.read_text())
    run = [line for line in lines if not line.skipped]
    unmarked = [f"README.md:{line.number}: {line.text}" for line in run
                if LIVE.search(line.text) or shlex.split(line.text)[0] not in PROGRAMS]
    assert not unmarked, f"live-network or unknown commands outside a `{SKIP}` block: {unmarked}"

    reader, failures, began = Reader(tmp_path), [], time.monotonic()
    try:
        for line in run:
            problem = reader.run(line)
            if problem:
                failures.append(f"README.md:{line.number}: {line.text}\n    {problem}")
    finally:
        failures += reader.stop()
    print(f"{len(run)} README lines run, {len(lines) - len(run)} skipped, {time.monotonic() - began:.0f} s")
    assert not failures, "\n".join(failures)

    # Not vacuous: the paths issue 19 names are among what ran.
    ran = " ".join(line.text for line in run)
    for needed in ("ape run deploy --network", "--ticks", "ape run engine", "--submit", "perpkit positions",
                   "withdraw", "ethereum:local:http://127.0.0.1:", "--rpc http://127.0.0.1:"):
        assert needed in ran, f"no README command with {needed!r} ran"


def test_readme_lines__skip_marker_comments_and_background__are_read(tmp_path):
    text = "\n".join([
        "```bash", "perpkit markets   # a comment", "# only a comment", "", "anvil --port 8545 &", "```",
        SKIP, "```bash", "SEPOLIA_RPC_URL=x .venv/bin/ape run deploy --network ethereum:sepolia:node", "```"])
    lines = readme_lines(text)
    assert [(line.number, line.text, line.skipped) for line in lines] == [
        (2, "perpkit markets", False), (5, "anvil --port 8545 &", False),
        (9, "SEPOLIA_RPC_URL=x .venv/bin/ape run deploy --network ethereum:sepolia:node", True)]

    reader = Reader(tmp_path)
    args, detached = reader.rewrite(".venv/bin/ape run keeper --network ethereum:local:node --ticks 1")
    node = reader.ports["8545"]
    assert (args, detached) == ([".venv/bin/ape", "run", "keeper", "--network", f"ethereum:local:http://127.0.0.1:{node}",
                                 "--ticks", "1", "--deployments", str(tmp_path / "deployments")], False)
    args, detached = reader.rewrite("node_modules/.bin/anvil --port 8545 &")
    assert (args, detached) == (["node_modules/.bin/anvil", "--port", node], True)
    args, _ = reader.rewrite("perpkit --rpc http://127.0.0.1:8546 --deployments deployments/8546 markets")
    assert args == [str(PERPKIT), "--rpc", f"http://127.0.0.1:{reader.ports['8546']}", "--deployments",
                    str(tmp_path / "deployments/8546"), "markets"]
    assert reader.ports["8546"] != node
    assert reader.rewrite(".venv/bin/ape run deploy")[0][-2:] == ["--deployments", str(tmp_path / "embedded")]
