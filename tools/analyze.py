"""`make analyze`: slither over contracts/ (built through forge in analysis/), and a non-zero exit
on any High or Medium finding that analysis/triage.tsv does not name with its reason.

A finding is keyed by its detector and the element it names first (`PerpMarket._totals`,
`FundingRate.recordQuote(uint256,uint256,uint256)`): stable across edits that move lines. Triage
lines that match nothing any more are reported too (and fail the run), so the file stays true."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "analysis" / "triage.tsv"
GATED = ("High", "Medium")


def findings() -> list[tuple[str, str, str, str]]:
    """(impact, detector, element, first description line) of every High or Medium finding."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "slither.json"
        run = subprocess.run(
            [sys.executable, "-m", "slither", ".", "--compile-force-framework", "foundry",
             "--filter-paths", "node_modules|mocks", "--exclude-informational", "--exclude-low",
             "--exclude-optimization", "--json", str(out)],
            cwd=ROOT / "analysis", capture_output=True, text=True,
        )
        if not out.exists():
            sys.exit(f"analyze: slither did not run:\n{run.stderr[-2000:]}")
        data = json.loads(out.read_text())
    if not data.get("success"):
        sys.exit(f"analyze: slither failed: {data.get('error')}")
    rows = []
    for r in data["results"].get("detectors", []):
        if r["impact"] in GATED:
            first = r["description"].splitlines()[0]
            rows.append((r["impact"], r["check"], first.split(" (")[0], first))
    return rows


def triage() -> dict[tuple[str, str], str]:
    """(detector, element) -> reason, from analysis/triage.tsv (tab-separated, # comments)."""
    known = {}
    for n, line in enumerate(TRIAGE.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[2].strip():
            sys.exit(f"analyze: {TRIAGE.name} line {n}: want detector<TAB>element<TAB>reason")
        known[(parts[0], parts[1])] = parts[2]
    return known


def main() -> None:
    rows, known = findings(), triage()
    seen = {(check, element) for _, check, element, _ in rows}
    new = [row for row in rows if (row[1], row[2]) not in known]
    stale = [key for key in known if key not in seen]
    for impact, check, element, _ in sorted(rows):
        mark = "new    " if (check, element) not in known else "triaged"
        print(f"{mark} {impact:<6} {check:<22} {element}")
    for check, element in stale:
        print(f"stale   {check} {element}: triaged, but slither no longer reports it (remove the line)")
    print(f"analyze: {len(rows)} High/Medium findings, {len(rows) - len(new)} triaged, {len(new)} new, "
          f"{len(stale)} stale triage lines")
    if new or stale:
        for _, check, element, first in new:
            print(f"  new: {first}")
        sys.exit(1)


if __name__ == "__main__":
    main()
