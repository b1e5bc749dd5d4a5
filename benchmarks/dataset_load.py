"""Time and peak memory of generating, validating and loading a dataset, and of the
first catalog call on it. Each phase runs in its own process so its peak RSS is its own.

    .venv/bin/python benchmarks/dataset_load.py [--size large] [--seed 360]

Baseline (same run, same machine): parsing the same JSON file and inserting the
same number of seat rows with raw sqlite3 executemany: the floor any loader pays.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(size: str, seed: int, path: str) -> dict:
    from fixtures.generator import dump, generate

    t = time.perf_counter()
    text = dump(generate(size, seed))
    Path(path).write_text(text, encoding="utf-8")
    return {
        "seconds": time.perf_counter() - t,
        "peak_mb": _peak_mb(),
        "note": f"{len(text.encode()) / 1e6:.1f} MB JSON",
    }


def phase_validate(path: str) -> dict:
    from fixtures.validate import load_dataset

    t = time.perf_counter()
    load_dataset(path)
    return {
        "seconds": time.perf_counter() - t,
        "peak_mb": _peak_mb(),
        "note": "schema + cross-references",
    }


def phase_load(path: str) -> dict:
    from sqlalchemy import func, select

    from mock_server.app import create_app
    from mock_server.simulator import SimulatorConfig
    from mock_server.store import schema

    t = time.perf_counter()
    app = create_app(SimulatorConfig(dataset=Path(path)))
    seconds = time.perf_counter() - t
    with app.sim.store.read() as conn:
        seats = conn.execute(select(func.count()).select_from(schema.seat)).scalar()
        perfs = conn.execute(select(func.count()).select_from(schema.performance)).scalar()
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "note": f"validate + load: {seats:,} seats, {perfs:,} performances",
    }


def phase_serve(path: str) -> dict:
    import requests

    from mock_server.simulator import SimulatorConfig
    from mock_server.soap import namespaces as ns
    from mock_server.testing import running_simulator

    sys.path.insert(0, str(ROOT / "tests"))
    from soap_raw import envelope, result

    with running_simulator(SimulatorConfig(dataset=Path(path), rate_limits="off")) as mock:
        body = envelope(ns.CATALOG.tns, "getCatalogDetailed")
        timings = []
        for _ in range(3):
            t = time.perf_counter()
            r = requests.post(mock.url("CatalogService"), data=body, timeout=120)
            timings.append(time.perf_counter() - t)
            assert result(r).findtext("statusCode") == "success"
    return {
        "seconds": timings[0],
        "peak_mb": _peak_mb(),
        "note": f"first getCatalogDetailed, {len(r.content) / 1e6:.1f} MB reply (then"
        f" {min(timings[1:]) * 1000:.0f} ms from the reply cache)",
    }


def phase_baseline(path: str) -> dict:
    import sqlite3

    t = time.perf_counter()
    doc = json.loads(Path(path).read_text())
    rows = []
    for venue in doc["venues"]:
        for area in venue["areas"]:
            if area.get("numbered", True):
                for block in area["blocks"]:
                    for row in block["rows"]:
                        for i in range(row["seats"]):
                            rows.append(
                                (
                                    row["firstSeatId"] + i,
                                    venue["id"],
                                    block["seatCategoryId"],
                                    row["code"],
                                    i + 1,
                                )
                            )
            else:
                rows.extend(
                    (area["firstSeatId"] + i, venue["id"], area["seatCategoryId"], None, None)
                    for i in range(area["capacity"])
                )
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE seat (id INTEGER PRIMARY KEY, venue_id INT, cat INT, row_code TEXT, number INT)"
    )
    with db:
        db.executemany("INSERT INTO seat VALUES (?,?,?,?,?)", rows)
    return {
        "seconds": time.perf_counter() - t,
        "peak_mb": _peak_mb(),
        "note": f"json.load + raw sqlite3 insert of {len(rows):,} seats",
    }


PHASES = {
    "generate": phase_generate,
    "validate": phase_validate,
    "load": phase_load,
    "serve": phase_serve,
    "baseline": phase_baseline,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="large")
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # child process
        fn = PHASES[args.phase]
        result = fn(args.size, args.seed, args.path) if args.phase == "generate" else fn(args.path)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / f"{args.size}.json")
        results = {}
        for name in ["generate", "validate", "load", "serve", "baseline"]:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--phase",
                    name,
                    "--path",
                    path,
                    "--size",
                    args.size,
                    "--seed",
                    str(args.seed),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["baseline"]["seconds"]
    print(f"dataset size={args.size} seed={args.seed}  (python {sys.version.split()[0]})")
    print(f"| {'phase':<9} | {'seconds':>8} | {'peak MB':>8} | {'x baseline':>10} | what |")
    print(f"|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 12}|------|")
    for name, r in results.items():
        print(
            f"| {name:<9} | {r['seconds']:>8.2f} | {r['peak_mb']:>8.0f} | {r['seconds'] / base:>10.2f} | {r['note']} |"
        )


if __name__ == "__main__":
    main()
