"""``s360-mock contract provider|client``: the contract checks without writing Python.

    s360-mock contract provider                          # against a simulator started here
    s360-mock contract provider --url https://demo.pp-ws.secutix.com --sandbox-safe \\
        --user DEMO_PARTNER1 --password ... --barcode-format digits
    s360-mock contract client --cmd 'node examples/client.mjs'
    s360-mock contract client --cmd './my-client' --url http://127.0.0.1:8360

Exit status: 0 when the contract holds, 1 when it is broken (the minimal failing
case is printed), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from contract_tests.provider import PROFILES
from contract_tests.rules import ALL_RULES, RuleConfig
from contract_tests.soapclient import DEFAULT_LOGIN, Endpoint

CLIENT_EXAMPLES = {"ci": 4, "dev": 25, "thorough": 200}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="contract_command", required=True)
    for name, text in (
        ("provider", "check an S-360 endpoint (the simulator or a sandbox) against the contract"),
        ("client", "check a partner client (any language) against the integration rules"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--url", help="S-360 base URL (default: start a simulator for the run)")
        p.add_argument("--user", default=DEFAULT_LOGIN[0], help="partner login (%(default)s)")
        p.add_argument("--password", default=DEFAULT_LOGIN[1], help="partner password")
        p.add_argument("--admin-token", help="the simulator's control-plane token, if any")
        p.add_argument("--profile", default="ci", choices=sorted(PROFILES), help="default ci")
        p.add_argument("--seed", type=int, help="random seed (replays a reported failure)")
        p.add_argument("--examples", type=int, help="examples (overrides the profile)")
        p.set_defaults(
            contract_func=run_provider_command if name == "provider" else run_client_command
        )
        if name == "provider":
            p.add_argument("--steps", type=int, help="steps per example (overrides the profile)")
            p.add_argument(
                "--sandbox-safe",
                action="store_true",
                help="stay inside the platform's rate limits (tiny budgets): for a real sandbox",
            )
            p.add_argument(
                "--availability",
                choices=("strict", "tolerant", "off"),
                help="capacity - held - sold check (strict against the simulator, tolerant "
                "against a shared sandbox)",
            )
            p.add_argument(
                "--barcode-format",
                default="luhn",
                help="luhn (the simulator's), digits, any, or regex:PATTERN",
            )
        else:
            p.add_argument(
                "--cmd", required=True, help="the client's command line (run by the shell)"
            )
            p.add_argument("--timeout", type=float, default=120, help="seconds per client run")
            p.add_argument(
                "--observer",
                metavar="LOGIN:PASSWORD",
                help="another partner's login, to read availability without touching the "
                "client's rate limits (default: the other partner of the default dataset)",
            )
            p.add_argument(
                "--speed",
                type=float,
                default=100,
                help="virtual seconds per real second while the client runs (S360_TIME_SPEED)",
            )
            p.add_argument(
                "--performances",
                default="10003,10001,10002",
                help="performance ids the tasks draw from (default: the default dataset's)",
            )
            p.add_argument(
                "--rules",
                default=",".join(ALL_RULES),
                help="rules to check (default: all of R1..R8)",
            )
            p.add_argument(
                "--threshold",
                action="append",
                default=[],
                metavar="NAME=VALUE",
                help="a rule threshold (contract_tests.rules.RuleConfig), e.g. "
                "check_max_age_s=120 or retry_after_scope=partner; repeatable",
            )
            p.add_argument("--replay", help="run one scenario (the JSON a failure printed)")
            p.add_argument(
                "--no-key-scenarios",
                action="store_true",
                help="skip the fixed scenarios (no fault, one fault of each kind)",
            )


@contextmanager
def _endpoint(args: argparse.Namespace) -> Iterator[Endpoint]:
    if args.url:
        yield Endpoint(args.url, args.user, args.password, args.admin_token)
        return
    from mock_server.testing import running_simulator

    print("starting a simulator for the run (default dataset, rate limits off until set)")
    with running_simulator() as running:
        yield Endpoint(running.base_url, args.user, args.password, running.sim.config.admin_token)


def run_provider_command(args: argparse.Namespace) -> int:
    from contract_tests.provider import ProviderOptions, run_provider

    options = ProviderOptions(
        barcode_format=args.barcode_format,
        sandbox_safe=args.sandbox_safe,
        profile=args.profile,
        seed=args.seed,
        max_examples=args.examples,
        steps=args.steps,
    )
    with _endpoint(args) as endpoint:
        if args.availability:
            options.availability = args.availability
        elif endpoint.admin is None:
            options.availability = "tolerant"
        where = "simulator (control plane found)" if endpoint.admin else "no control plane"
        print(f"provider contract: {endpoint.base_url} as {endpoint.user}, {where}, {options}")
        try:
            result = run_provider(endpoint, options)
        except BaseException as error:  # noqa: BLE001 - hypothesis printed the minimal steps
            if isinstance(error, KeyboardInterrupt):
                raise
            print(f"\nCONTRACT BROKEN: {type(error).__name__}: {error}")
            for note in getattr(error, "__notes__", []):
                print(note)
            return 1
    print(
        f"provider contract holds: {result.examples} examples, {result.calls} calls, "
        f"{result.seconds:.1f} s"
    )
    return 0


def run_client_command(args: argparse.Namespace) -> int:
    from contract_tests.harness import ClientContractError, ClientHarness
    from contract_tests.plans import Scenario

    rules = RuleConfig(rules=tuple(r.strip() for r in args.rules.split(",") if r.strip()))
    unknown = [r for r in rules.rules if r not in ALL_RULES]
    if unknown:
        print(f"error: unknown rules {unknown}", file=sys.stderr)
        return 2
    for item in args.threshold:
        name, _, value = item.partition("=")
        current = getattr(rules, name.strip(), None)
        if name.strip() == "rules" or current is None or not value:
            print(f"error: --threshold {item!r}: not a RuleConfig field=value", file=sys.stderr)
            return 2
        try:
            kind = float if isinstance(current, int | float) else type(current)
            setattr(rules, name.strip(), kind(value.strip()))
        except ValueError:
            print(f"error: --threshold {item!r}: bad value", file=sys.stderr)
            return 2
    performances = tuple(int(p) for p in args.performances.split(",") if p.strip())
    with _endpoint(args) as endpoint:
        if endpoint.admin is None:
            print(
                f"error: {endpoint.base_url} has no control plane (/_mock): the client contract "
                "runs against the simulator",
                file=sys.stderr,
            )
            return 2
        observer = tuple(args.observer.split(":", 1)) if args.observer else None
        harness = ClientHarness(
            endpoint,
            args.cmd,
            rules=rules,
            speed=args.speed,
            observer=observer,
        )
        harness.client.timeout = args.timeout  # type: ignore[union-attr]
        started = time.monotonic()
        print(f"client contract: {args.cmd!r} against {endpoint.base_url} as {endpoint.user}")
        try:
            if args.replay:
                try:
                    outcome = harness.run_example(Scenario.from_json(args.replay))
                finally:
                    endpoint.admin.reset()
                print(outcome.summary())
                return 0 if outcome.ok else 1
            done = harness.check(
                performances=performances,
                max_examples=args.examples
                if args.examples is not None
                else CLIENT_EXAMPLES.get(args.profile, 4),
                derandomize=args.seed is None,
                seed_value=args.seed,
                key_examples=not args.no_key_scenarios,
                log=print,
            )
        except ClientContractError as error:
            print(
                f"\nCONTRACT BROKEN (rules {error.failed_rules or '-'}, properties "
                f"{len(error.failed_properties)})\n{error}"
            )
            return 1
    print(_report(done))
    print(f"client contract holds: {len(done)} examples, {time.monotonic() - started:.1f} s")
    return 0


def _report(done: list[Any]) -> str:
    """Each rule with pass/fail over every example run."""
    if not done:
        return ""
    lines = ["rules over all examples:"]
    for i, result in enumerate(done[0].report.results):
        failed = sum(1 for o in done if not o.report.results[i].passed)
        lines.append(f"  {result.rule} {'pass' if not failed else 'FAIL'}  {result.title}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    result: int = args.contract_func(args)
    return result
