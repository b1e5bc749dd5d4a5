"""The ``s360-mock`` command."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("s360mock")


def _dataset_from_args(args: argparse.Namespace) -> tuple[Path | None, dict[str, Any] | None]:
    if args.dataset and args.seed is not None:
        raise SystemExit(
            "error: give either --dataset FILE or --seed N (a generated dataset), not both"
        )
    if args.seed is not None:
        from fixtures.generator import generate

        return None, generate(args.size, args.seed)
    return (Path(args.dataset) if args.dataset else None), None


def _stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM stop the server cleanly, even when it was started
    with SIGINT ignored (a shell starts background jobs that way, CI often does)."""
    import signal

    def terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminate)


def cmd_serve(args: argparse.Namespace) -> int:
    _stop_on_signals()
    from fixtures.validate import DatasetError
    from mock_server.app import create_app
    from mock_server.core.ratelimit import PolicyError, resolve
    from mock_server.server import bind, serve_forever
    from mock_server.simulator import SimulatorConfig
    from mock_server.soap.namespaces import ALL_SERVICES
    from mock_server.store import StoreError

    path, doc = _dataset_from_args(args)
    try:
        resolve(args.rate_limits)  # refuse a bad policy file before loading anything
    except PolicyError as error:
        print(f"error: --rate-limits {args.rate_limits}: {error}", file=sys.stderr)
        return 2
    worker = getattr(args, "worker_process", False)
    config = SimulatorConfig(
        dataset=path,
        state_url=args.state,
        clock=args.clock,
        reset_state=args.reset_state and not worker,
        rate_limits=args.rate_limits,
        rate_limit_status=args.rate_limit_status,
        journal_max_entries=args.journal_max,
        reply_cache=not args.no_reply_cache,
        admin_token=args.admin_token or None,
    )
    started = time.perf_counter()
    if args.workers > 1 and not worker:
        return _supervise(args, config, doc, started)
    try:
        app = create_app(config, dataset=doc)
    except DatasetError as error:
        print(f"error: dataset refused, nothing loaded\n{error}", file=sys.stderr)
        return 2
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        server = bind(app, args.host, args.port, args.threads, reuse_port=worker)
    except OSError as error:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 2
    host, port = server.bind_addr[:2]
    base = f"http://{host}:{port}"
    if worker:
        print("worker ready", flush=True)
        serve_forever(server)
        return 0
    print(
        f"s360-mock: dataset {app.sim.dataset.get('name')!r} ready in {time.perf_counter() - started:.1f}s,"
        f" state {config.state_url}, clock {app.sim.clock!r}"
    )
    for info in ALL_SERVICES:
        if info.path in app.soap.by_path:
            print(f"  {info.name:<32} {base}{info.path}?wsdl")
    print(
        f"  control plane                    {base}/_mock/openapi.json"
        f" ({'bearer token' if config.admin_token else 'loopback callers only'})"
    )
    rates = app.sim.control.rate_limits
    print(
        f"  rate limits                      {args.rate_limits}"
        f" ({len(rates.policies)} policies, HTTP {rates.http_status} when exceeded)"
    )
    print(
        "  logins: DEMO_PARTNER1 / partner1-secret, DEMO_PARTNER2 / partner2-secret (default dataset)"
    )
    print("Ctrl-C stops.", flush=True)
    serve_forever(server)
    return 0


def _supervise(args: argparse.Namespace, config: Any, doc: Any, started: float) -> int:
    from dataclasses import replace

    from fixtures.validate import DatasetError
    from mock_server.simulator import Simulator
    from mock_server.store import StoreError
    from mock_server.workers import supervise

    def prepare(state: str, reset: bool) -> int | None:
        try:
            Simulator(replace(config, state_url=state, reset_state=reset), dataset_doc=doc).close()
        except DatasetError as error:
            print(f"error: dataset refused, nothing loaded\n{error}", file=sys.stderr)
            return 2
        except StoreError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return None

    def banner(base: str, state: str, temporary: bool) -> None:
        from mock_server.soap.namespaces import ALL_SERVICES

        kept = " (temporary: removed at exit)" if temporary else ""
        print(
            f"s360-mock: {args.workers} worker processes ready in "
            f"{time.perf_counter() - started:.1f}s, state {state}{kept}"
        )
        for info in ALL_SERVICES:
            print(f"  {info.name:<32} {base}{info.path}?wsdl")
        print(f"  control plane                    {base}/_mock/openapi.json")
        print("Ctrl-C stops.", flush=True)

    return supervise(args, args.serve_argv, prepare, banner)


def cmd_dataset_generate(args: argparse.Namespace) -> int:
    from fixtures.generator import dump, generate
    from fixtures.validate import validate_dataset

    doc = generate(args.size, args.seed)
    problems = validate_dataset(doc)
    if problems:  # a generator bug: never write an invalid dataset
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    text = dump(doc)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(
            f"wrote {args.output} ({len(text.encode()) / 1e6:.1f} MB, size {args.size}, seed {args.seed})",
            file=sys.stderr,
        )
    return 0


def cmd_dataset_validate(args: argparse.Namespace) -> int:
    from fixtures.validate import DatasetError, load_dataset

    status = 0
    for name in args.files:
        try:
            load_dataset(Path(name))
        except DatasetError as error:
            print(f"{name}: {error}")
            status = 1
        except OSError as error:
            print(f"{name}: cannot read: {error.strerror}")
            status = 1
        else:
            print(f"{name}: valid")
    return status


def cmd_load(args: argparse.Namespace) -> int:
    from load_tests.runner import run

    return run(args)


def cmd_contract(args: argparse.Namespace) -> int:
    from contract_tests.cli import main as contract_main

    return contract_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s360-mock", description="Local simulator of the SecuTix S-360 partner web services"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at INFO level (start-up, state, errors)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the simulator")
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8360, help="port (default 8360)")
    serve.add_argument(
        "--dataset", metavar="FILE", help="dataset JSON (default: fixtures/data/default.json)"
    )
    serve.add_argument(
        "--seed", type=int, help="serve a freshly generated dataset with this seed instead"
    )
    serve.add_argument(
        "--size", default="small", choices=["small", "medium", "large"], help="size for --seed"
    )
    serve.add_argument(
        "--state",
        default="sqlite://",
        metavar="URL",
        help="state database: sqlite:// (memory, default) or sqlite:///path.db (kept across restarts)",
    )
    serve.add_argument(
        "--reset-state", action="store_true", help="reload the dataset into an existing state file"
    )
    serve.add_argument(
        "--clock",
        default="dataset",
        choices=["dataset", "now"],
        help="start the virtual clock at the dataset's clockStart (default) or at the wall clock",
    )
    serve.add_argument("--threads", type=int, default=16, help="server worker threads (default 16)")
    serve.add_argument(
        "--rate-limits",
        default="s360",
        metavar="s360|off|FILE",
        help="rate-limit policies: the platform's (s360, default), none (off), or a JSON "
        "policy file (docs/control-plane.md)",
    )
    serve.add_argument(
        "--rate-limit-status",
        type=int,
        choices=[429, 509],
        default=None,
        help="HTTP status of a refused call (default: the policies', 429)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        default=None,
        help="require 'Authorization: Bearer TOKEN' on /_mock/... (then callers need not be local)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port and the state (default 1; with the in-memory"
        " state, a temporary state file is used)",
    )
    serve.add_argument("--worker-process", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument(
        "--no-reply-cache",
        action="store_true",
        help="compute every read reply afresh (the cache never serves stale state; this is for"
        " measuring it)",
    )
    serve.add_argument(
        "--journal-max",
        type=int,
        default=10_000,
        metavar="N",
        help="request journal bound, oldest dropped first (default 10000; 0: no journal)",
    )
    serve.set_defaults(func=cmd_serve)

    from load_tests.runner import add_arguments as add_load_arguments

    load = sub.add_parser(
        "load",
        help="headless locust run of partner traffic, thresholds, then the audit",
        description="Start a simulator (or use --host), run locust headless, print a "
        "per-operation table, apply thresholds, audit the state (docs/load-testing.md)",
    )
    add_load_arguments(load)
    load.set_defaults(func=cmd_load)

    from contract_tests.cli import add_arguments as add_contract_arguments

    contract = sub.add_parser(
        "contract",
        help="contract checks: an S-360 endpoint (provider) or a partner client (client)",
        description="Property-based contract checks (docs/contract-testing.md)",
    )
    add_contract_arguments(contract)
    contract.set_defaults(func=cmd_contract)

    dataset = sub.add_parser("dataset", help="generate or validate datasets")
    dsub = dataset.add_subparsers(dest="dataset_command", required=True)
    gen = dsub.add_parser("generate", help="write a generated dataset")
    gen.add_argument("--size", default="small", choices=["small", "medium", "large"])
    gen.add_argument("--seed", type=int, default=360)
    gen.add_argument("-o", "--output", help="file to write (default: stdout)")
    gen.set_defaults(func=cmd_dataset_generate)
    val = dsub.add_parser("validate", help="check datasets; lists every problem with its JSON path")
    val.add_argument("files", nargs="+")
    val.set_defaults(func=cmd_dataset_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    # What follows "serve" (options before it are global), for --workers to pass on.
    args.serve_argv = raw[raw.index("serve") :] if "serve" in raw else raw
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
