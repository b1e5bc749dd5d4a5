"""Partner-client contract: run a partner's client against the simulator while
hypothesis varies what the simulator does to it, then check the journal against
the integration rules and the state against the invariants.

The client under test is a Python callable ``client(env) -> bool`` or a command
line. Either way it gets one purchase task:

=======================  ============================================================
``S360_URL``             base URL (``env.url``): append the S-360 service paths
``S360_USER``            login (``env.user``), e.g. ``DEMO_PARTNER1``
``S360_PASSWORD``        password (``env.password``)
``S360_PERFORMANCE_ID``  the performance to buy (``env.performance_id``)
``S360_QUANTITY``        how many places (``env.quantity``), one FULL tariff, any category
``S360_TIME_SPEED``      virtual seconds per real second: divide every wait (Retry-After,
                         back-off) by it (``env.sleep(seconds)`` does it for Python)
=======================  ============================================================

It must exit 0 (return ``True``) only if the tickets were issued, and non-zero
(``False``) otherwise. Each run is a fresh start on a reset simulator.

For each example: reset; rate limits of the platform for the client's login;
the scenario's faults; a baseline of the performance's availability seen by an
observer login; the client runs; then

* the rules (``contract_tests.rules``) on the client's journal entries;
* the invariants audit (``GET /_mock/audit``);
* no hold left open: moving the clock past orderAbandonDelay frees nothing;
* no double purchase: at most ``quantity`` places taken;
* the client tells the truth: success exactly when ``quantity`` places were sold.

Python clients run on a frozen virtual clock: ``env.sleep(s)`` moves it ``s``
seconds at once. Commands run while the harness drives the clock at
``S360_TIME_SPEED`` times real speed.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings

from contract_tests.plans import Fault, Scenario, key_scenarios, scenarios
from contract_tests.rules import RuleConfig, RuleContext, RuleReport, check_rules
from contract_tests.soapclient import OPERATION_SERVICE, Endpoint, S360Api

OBSERVER_LOGINS = {
    "DEMO_PARTNER1": ("DEMO_PARTNER2", "partner2-secret"),
    "DEMO_PARTNER2": ("DEMO_PARTNER1", "partner1-secret"),
}
DEFAULT_PERFORMANCES = (10003, 10001, 10002)  # default dataset: plenty, limited, sold out
# Shrink, but skip the "explain" phase: it reruns many variants of the minimal example.
NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


@dataclass
class ClientEnv:
    """The task given to a Python client (the same as the environment of a command)."""

    url: str
    user: str
    password: str
    performance_id: int
    quantity: int
    speed: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def environ(self) -> dict[str, str]:
        return {
            "S360_URL": self.url,
            "S360_USER": self.user,
            "S360_PASSWORD": self.password,
            "S360_PERFORMANCE_ID": str(self.performance_id),
            "S360_QUANTITY": str(self.quantity),
            "S360_TIME_SPEED": f"{self.speed:g}",
        }


class CommandClient:
    """A client that is a command line (any language), run with the task in its environment."""

    def __init__(self, command: str, timeout: float = 120, cwd: str | None = None) -> None:
        self.command = command
        self.timeout = timeout
        self.cwd = cwd
        self.output = ""

    def __call__(self, env: ClientEnv) -> bool:
        run_env = {**os.environ, **env.environ()}
        try:
            done = subprocess.run(
                self.command,
                shell=True,
                env=run_env,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as error:
            partial = (error.stdout or b"") + (error.stderr or b"")
            text = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
            self.output = f"timed out after {self.timeout} s\n{text[-4000:]}"
            return False
        self.output = (done.stdout + done.stderr)[-4000:]
        return done.returncode == 0

    def __repr__(self) -> str:
        return f"CommandClient({self.command!r})"


@dataclass
class ExampleOutcome:
    scenario: Scenario
    claimed: bool
    sold: int
    held_open: int
    report: RuleReport
    audit: list[dict[str, Any]]
    properties: list[str]
    entries: list[dict[str, Any]]
    error: str | None = None
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.report.passed and not self.audit and not self.properties and not self.error

    def summary(self) -> str:
        lines = [
            f"scenario: {self.scenario.describe()}",
            f"client said {'success' if self.claimed else 'failure'}; places sold {self.sold}, "
            f"held open {self.held_open}",
            self.report.text(),
        ]
        for p in self.properties:
            lines.append(f"PROPERTY FAIL  {p}")
        for v in self.audit:
            lines.append(f"AUDIT FAIL  {v.get('invariant')}: {v.get('message')}")
        if self.error:
            lines.append(f"client raised: {self.error}")
        lines.append("journal of the run:")
        for e in self.entries[:60]:
            res = e.get("result") or {}
            keys = {
                k: res[k] for k in ("orderId", "orderState", "retryAfter", "replyLost") if k in res
            }
            lines.append(
                f"  #{e['id']} +{(e['timeMs'] - self.entries[0]['timeMs']) / 1000:.0f}s "
                f"{e.get('operation')} -> {e.get('outcome')} ({e.get('httpStatus')})"
                + (f" {keys}" if keys else "")
                + (f" injected {[i['type'] for i in e['injected']]}" if e.get("injected") else "")
            )
        if self.output:
            lines.append("client output (tail):\n" + self.output[-1500:])
        return "\n".join(lines)


class ClientContractError(AssertionError):
    """A client broke the contract; ``outcome`` is the (minimal) failing example."""

    def __init__(self, outcome: ExampleOutcome, replay: str = "") -> None:
        self.outcome = outcome
        self.failed_rules = outcome.report.failed_rules
        self.failed_properties = list(outcome.properties)
        super().__init__(
            "the partner client breaks the S-360 contract\n"
            f"minimal reproduction: {outcome.scenario.describe()}\n"
            f"replay: --replay '{outcome.scenario.to_json()}'{replay}\n" + outcome.summary()
        )


class _ClockDriver(threading.Thread):
    """Moves the frozen virtual clock at ``speed`` x real time (for command clients)."""

    def __init__(self, admin: Any, speed: float, start: Any) -> None:
        super().__init__(daemon=True)
        self.admin, self.speed, self.start_virtual = admin, speed, start
        self.start_real = time.monotonic()
        self.extra = 0.0
        self.stop_event = threading.Event()
        self.lock = threading.Lock()

    def jump(self, seconds: float) -> None:
        with self.lock:
            self.extra += seconds
            self._set()

    def _set(self) -> None:
        elapsed = (time.monotonic() - self.start_real) * self.speed + self.extra
        self.admin.freeze_clock(self.start_virtual + timedelta(seconds=elapsed))

    def run(self) -> None:
        while not self.stop_event.wait(0.01):
            with self.lock:
                self._set()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


class ClientHarness:
    """Runs one client against the simulator at ``endpoint`` (it needs the control plane)."""

    def __init__(
        self,
        endpoint: Endpoint,
        client: Callable[[ClientEnv], Any] | str,
        rules: RuleConfig | None = None,
        speed: float = 100.0,
        observer: tuple[str, str] | None = None,
    ) -> None:
        if endpoint.admin is None:
            raise RuntimeError(
                f"{endpoint.base_url} has no control plane (/_mock): the client contract needs "
                "the simulator (s360-mock serve), not a real S-360 host"
            )
        self.endpoint = endpoint
        self.admin = endpoint.admin
        self.client = CommandClient(client) if isinstance(client, str) else client
        self.command = isinstance(self.client, CommandClient)
        self.speed = speed
        self.rules = rules or RuleConfig()
        self.observer = observer or OBSERVER_LOGINS.get(
            endpoint.user, ("DEMO_PARTNER2", "partner2-secret")
        )
        self.admin.reset()
        self.admin.set_rate_limits("off")
        self.api = S360Api(endpoint)
        self.observer_api = S360Api(endpoint.with_login(*self.observer))
        self.context = self._context()
        if self.command:  # the clock driver's steps (10 ms real) are the timing tolerance
            self.rules.retry_after_tolerance_s = max(
                self.rules.retry_after_tolerance_s, 0.05 * speed
            )

    # -- set-up -------------------------------------------------------------------------
    def _context(self) -> RuleContext:
        pos = self.api.call("getPOSConfig").posConfigData
        self.pos_id = pos.posId
        self.abandon_s = int(pos.orderAbandonDelay or 15) * 60
        self.rules.order_expiry_s = self.abandon_s
        pending = {m.id for m in pos.paymentMethods if m.paymentType == "PENDING_ACCOUNT"}
        catalog = self.api.call("getCatalogDetailed").catalogData
        events, products = {}, {}
        for season in catalog.seasons or []:
            for product in season.products or []:
                if product.event is None:
                    continue
                for perf in product.event.performances or []:
                    events[perf.id] = product.event.id
                    products[perf.id] = product.id
        return RuleContext(
            pos_id=pos.posId,
            payment_methods=pending,
            performance_events=events,
            performance_products=products,
        )

    def _policies(self, faults: tuple[Fault, ...]) -> dict[str, Any]:
        self.admin.set_rate_limits("s360")
        doc = self.admin.rate_limits()
        tight = {f.operation: f.detail for f in faults if f.kind == "rate_limit" and f.operation}
        policies = []
        for p in doc["policies"]:
            p = {
                k: v
                for k, v in p.items()
                if k in ("name", "operations", "limit", "windowSeconds", "key", "description")
            }
            ops = [o for o in p.get("operations", ["*"]) if o.split(".")[-1] not in tight]
            if not ops:
                continue
            policies.append({**p, "operations": ops, "partners": [self.endpoint.user]})
        for op, window in tight.items():
            policies.append(
                {
                    "name": f"plan-{op}",
                    "operations": [f"{OPERATION_SERVICE[op]}.{op}"],
                    "limit": 1,
                    "windowSeconds": window,
                    "key": "partner+operation",
                    "partners": [self.endpoint.user],
                }
            )
        return {"httpStatus": doc.get("httpStatus", 429), "policies": policies}

    def _consume(self, operation: str) -> None:
        """One call of ``operation`` as the client's login, so that its next one is refused."""
        from contract_tests.soapclient import SERVICE_PATHS

        service = OPERATION_SERVICE[operation]
        tns = {
            "ContactInformationPublicService": "http://v2_21.ContactInformationPublicService.service.secutix.com"
        }.get(service, f"http://v1_33.{service}.service.secutix.com")
        body = (
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:v="{tns}"><soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/'
            'wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
            f"<wsse:Username>{self.endpoint.user}</wsse:Username><wsse:Password>"
            f"{self.endpoint.password}</wsse:Password></wsse:UsernameToken></wsse:Security>"
            f"</soapenv:Header><soapenv:Body><v:{operation}><pointOfSalesId>0</pointOfSalesId>"
            f"</v:{operation}></soapenv:Body></soapenv:Envelope>"
        )
        requests.post(
            self.endpoint.base_url + SERVICE_PATHS[service],
            data=body.encode(),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=30,
        )

    def _install(self, scenario: Scenario) -> None:
        admin, login = self.admin, self.endpoint.user
        admin.reset()
        admin.freeze_clock()
        admin.set_rate_limits(self._policies(scenario.faults))
        for f in scenario.faults:
            action: dict[str, Any] | None = None
            if f.kind == "sold_out":
                admin.sell_out(scenario.performance_id)
            elif f.kind == "soap_fault":
                action = {"type": "fault"}
            elif f.kind == "http_error":
                action = {"type": "http", "httpStatus": f.detail or 503}
            elif f.kind == "latency":
                action = {"type": "latency", "ms": f.detail or 10}
            elif f.kind == "in_progress":
                action = {"type": "in_progress"}
            elif f.kind == "drop":
                action = {"type": "drop"}
            elif f.kind == "reply_lost":
                action = {"type": "reply_lost"}
            elif f.kind == "after_payment":
                action = {"type": "checkpoint", "name": "closeOrder.after_payment"}
            elif f.kind == "sold_out_race":
                action = {"type": "status", "statusCode": "error.order.availability"}
            elif f.kind == "expiry":  # give the watcher time to move the clock first
                admin.add_fault(
                    {"type": "latency", "ms": 150}, operation="closeOrder", partner=login
                )
            if action is not None:
                admin.add_fault(action, operation=f.operation, partner=login, times=1)
        for op in {f.operation for f in scenario.faults if f.kind == "rate_limit" and f.operation}:
            self._consume(op)

    def _available(self, performance_id: int) -> int:
        r = self.observer_api.call(
            "getPerformanceAvailability",
            pointOfSalesId=self._observer_pos(),
            performanceIds=[performance_id],
        )
        if r.statusCode != "success":
            raise RuntimeError(f"observer: getPerformanceAvailability: {r.statusCode}")
        return int(r.performanceAvailabilities[0].available)

    def _observer_pos(self) -> int:
        if not hasattr(self, "_obs_pos"):
            self._obs_pos = self.observer_api.call("getPOSConfig").posConfigData.posId
        return int(self._obs_pos)

    # -- one example --------------------------------------------------------------------
    def run_example(self, scenario: Scenario) -> ExampleOutcome:
        self._install(scenario)
        baseline = self._available(scenario.performance_id)
        marker = self._last_id()
        start = _instant(self.admin.clock()["now"])
        jumps: list[tuple[int, ...]] = []
        driver = _ClockDriver(self.admin, self.speed, start) if self.command else None
        stop = threading.Event()
        watcher = None
        if any(f.kind == "expiry" for f in scenario.faults):
            watcher = threading.Thread(
                target=self._watch_expiry, args=(marker, driver, jumps, stop), daemon=True
            )
            watcher.start()

        def virtual_sleep(seconds: float) -> None:
            if seconds > 0:
                self.admin.advance_clock(min(float(seconds), 7 * 24 * 3600))

        env = ClientEnv(
            url=self.endpoint.base_url,
            user=self.endpoint.user,
            password=self.endpoint.password,
            performance_id=scenario.performance_id,
            quantity=scenario.quantity,
            speed=self.speed if self.command else 1.0,
            sleep=virtual_sleep,
        )
        error = None
        claimed = False
        if driver is not None:
            driver.start()
        try:
            answer = self.client(env)
            if isinstance(answer, bool) or not isinstance(answer, int):
                claimed = bool(answer)
            else:  # an exit status
                claimed = answer == 0
        except Exception as exc:  # noqa: BLE001 - a crash is a failure of the client
            error = f"{type(exc).__name__}: {exc}"
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(5)
            if driver is not None:
                driver.stop()
        entries = [
            e
            for e in self.admin.journal(partner=self.endpoint.user, limit=10000)["entries"]
            if e["id"] > marker
        ]
        end = self._available(scenario.performance_id)
        self.admin.advance_clock(self.abandon_s + 60)
        after = self._available(scenario.performance_id)
        context = RuleContext(**{**self.context.__dict__, "clock_jumps": jumps})
        report = check_rules(entries, self.rules, context)
        # The audit is the slowest check: skipped when a rule already failed (shrinking).
        audit = self.admin.audit() if report.passed else {"violations": []}
        sold, held_open = baseline - after, after - end
        properties = []
        if held_open > 0:
            properties.append(
                f"hold left open: {held_open} place(s) came back only when the clock passed "
                "orderAbandonDelay"
            )
        if sold > scenario.quantity:
            properties.append(f"double purchase: {sold} places taken for {scenario.quantity} asked")
        if claimed and sold != scenario.quantity:
            properties.append(
                f"the client said success but {sold} place(s) were sold ({scenario.quantity} asked)"
            )
        if not claimed and sold > 0:
            properties.append(f"the client said failure but {sold} place(s) were sold")
        output = getattr(self.client, "output", "") if self.command else ""
        return ExampleOutcome(
            scenario,
            claimed,
            sold,
            held_open,
            report,
            audit.get("violations", []),
            properties,
            entries,
            error,
            output,
        )

    def _last_id(self) -> int:
        newest = self.admin.journal(limit=1, newest_first=True)["entries"]
        return int(newest[0]["id"]) if newest else 0

    def _watch_expiry(
        self,
        marker: int,
        driver: _ClockDriver | None,
        jumps: list[tuple[int, ...]],
        stop: threading.Event,
    ) -> None:
        while not stop.wait(0.01):
            created = [
                e
                for e in self.admin.journal(
                    partner=self.endpoint.user, operation="createOrUpdateOrder", outcome="success"
                )["entries"]
                if e["id"] > marker
            ]
            if created:
                before = int(self.admin.clock()["nowMs"])
                seconds = self.abandon_s + 60
                if driver is not None:
                    driver.jump(seconds)
                else:
                    self.admin.advance_clock(seconds)
                jumps.append((before, before + seconds * 1000, self._last_id()))
                return

    # -- the property ---------------------------------------------------------------------
    def check(
        self,
        performances: tuple[int, ...] = DEFAULT_PERFORMANCES,
        quantities: tuple[int, int] = (1, 4),
        max_examples: int = 6,
        derandomize: bool = True,
        seed_value: int | None = None,
        key_examples: bool = True,
        log: Callable[[str], None] | None = None,
    ) -> list[ExampleOutcome]:
        """Key scenarios first (no fault, then one fault of each kind a rule is about), then
        ``max_examples`` generated ones, shrunk on failure. Raises
        :class:`ClientContractError` with the minimal failing scenario."""
        try:
            return self._check(
                performances, quantities, max_examples, derandomize, seed_value, key_examples, log
            )
        finally:  # leave the simulator at its start: clock running, start-up rate limits
            self.admin.reset()

    def _check(
        self,
        performances: tuple[int, ...],
        quantities: tuple[int, int],
        max_examples: int,
        derandomize: bool,
        seed_value: int | None,
        key_examples: bool,
        log: Callable[[str], None] | None,
    ) -> list[ExampleOutcome]:
        done: list[ExampleOutcome] = []
        if key_examples:
            for scenario in key_scenarios(performances[0]):
                outcome = self.run_example(scenario)
                done.append(outcome)
                if log:
                    log(f"  {'ok  ' if outcome.ok else 'FAIL'} {scenario.describe()}")
                if not outcome.ok:
                    raise ClientContractError(outcome)
        if max_examples <= 0:
            return done
        failures: list[ExampleOutcome] = []
        chosen_seed = seed_value if seed_value is not None else random.getrandbits(32)

        @settings(
            max_examples=max_examples,
            derandomize=derandomize and seed_value is None,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            phases=NO_EXPLAIN,
        )
        @given(scenario=scenarios(performances, quantities))
        def property_holds(scenario: Scenario) -> None:
            outcome = self.run_example(scenario)
            done.append(outcome)
            if log:
                log(f"  {'ok  ' if outcome.ok else 'FAIL'} {scenario.describe()}")
            if not outcome.ok:
                failures.append(outcome)
                raise ClientContractError(outcome)

        if not derandomize or seed_value is not None:
            property_holds = seed(chosen_seed)(property_holds)
        try:
            property_holds()
        except ClientContractError as error:
            replay = (
                "" if derandomize and seed_value is None else f" (hypothesis seed {chosen_seed})"
            )
            raise ClientContractError(error.outcome, replay) from None
        return done


def _instant(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_client(
    endpoint: Endpoint,
    client: Callable[[ClientEnv], Any] | str,
    *,
    rules: RuleConfig | None = None,
    speed: float = 100.0,
    **options: Any,
) -> list[ExampleOutcome]:
    """Check a partner client (callable or command line) against the contract; raises
    :class:`ClientContractError` with the minimal failing scenario."""
    return ClientHarness(endpoint, client, rules=rules, speed=speed).check(**options)


__all__ = [
    "ClientContractError",
    "ClientEnv",
    "ClientHarness",
    "CommandClient",
    "ExampleOutcome",
    "check_client",
]
