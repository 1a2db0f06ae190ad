"""Run every benchmark of bench/ (each in its own process, one after the other) and print the
figures together: `make bench`.

    .venv/bin/python bench/run_all.py [--only resolve,upload,scale,xet,xet-validate] [--quick] [--hub-workers N]

--quick shrinks the sizes (64 MiB files, 5,000 repos, short runs) to check that the benchmarks
work; its figures are not the issue's. Exits non-zero if a benchmark failed to run, and with
--strict also if a figure is below its goal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

from common import Figure

HERE = Path(__file__).resolve().parent

BENCHMARKS = {
    "resolve": "bench_resolve.py",
    "upload": "bench_upload.py",
    "scale": "bench_scale.py",
    "xet": "bench_xet.py",
    "xet-validate": "bench_xet_validate.py",
}
QUICK = {
    "resolve": ["--size-mib", "64", "--range-mib", "16", "--runs", "2", "--range-runs", "3"],
    "upload": ["--size-mib", "64", "--runs", "1"],
    "scale": ["--repos", "5000", "--samples", "200", "--commit-runs", "1"],
    "xet": ["--size-mib", "64", "--runs", "1", "--download-runs", "2", "--model-mb", "20"],
    "xet-validate": ["--size-mib", "128", "--runs", "1"],
}
QUICK["resolve"] += ["--wrk-seconds", "2", "--wrk-rounds", "1"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="Comma-separated: " + ",".join(BENCHMARKS) + "."
    )
    parser.add_argument("--quick", action="store_true", help="Small sizes, to check that everything runs.")
    parser.add_argument(
        "--hub-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="Worker processes of `commonshub serve` (default: one per core, as nginx runs).",
    )
    parser.add_argument("--strict", action="store_true", help="Exit 1 if a figure is below its goal.")
    args = parser.parse_args()

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    lines: list[str] = []
    failed: list[str] = []
    below: list[str] = []
    with tempfile.TemporaryDirectory(prefix="commonshub-bench-results-") as results:
        for name in names:
            out = Path(results) / f"{name}.json"
            command = [sys.executable, str(HERE / BENCHMARKS[name]), "--json", str(out)]
            command += ["--hub-workers", str(args.hub_workers)]
            command += QUICK[name] if args.quick else []
            print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
            started = time.perf_counter()
            if subprocess.run(command).returncode != 0 or not out.exists():
                failed.append(name)
                continue
            print(f"=== {name} took {time.perf_counter() - started:.0f} s", flush=True)
            for data in json.loads(out.read_text()):
                figure = Figure(**{f.name: data[f.name] for f in fields(Figure)})
                lines.append(figure.line())
                if not figure.met:
                    below.append(figure.name)

    print("\n=== summary" + (" (--quick: not the issue's sizes)" if args.quick else ""))
    print("\n".join(lines) or "(no figures)")
    if failed:
        print(f"FAILED to run: {', '.join(failed)}")
        sys.exit(2)
    if args.strict and below:
        sys.exit(1)


if __name__ == "__main__":
    main()
