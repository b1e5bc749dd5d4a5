"""Partner-client contract: the reference client keeps every rule under every fault plan;
each broken variant fails exactly the rule it breaks, with a minimal reproduction; a
client in another language (node) is checked through `s360-mock contract client --cmd`."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract_tests.harness import ClientContractError, ClientHarness
from contract_tests.plans import Fault, Scenario
from contract_tests.soapclient import Endpoint
from mock_server.testing import RunningSimulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import broken_clients  # noqa: E402
import reference_client  # noqa: E402


@pytest.fixture
def endpoint(mock: RunningSimulator) -> Iterator[Endpoint]:
    """The session's simulator; left as it was found (rate limits off, clock running)."""
    yield Endpoint(mock.base_url)
    mock.reset()


def test_the_reference_client_keeps_every_rule(endpoint: Endpoint) -> None:
    harness = ClientHarness(endpoint, reference_client.run)
    done = harness.check(max_examples=4)
    assert len(done) >= 9 and all(o.ok for o in done)
    kinds = {f.kind for o in done for f in o.scenario.faults}
    assert {"rate_limit", "reply_lost", "after_payment", "expiry", "sold_out"} <= kinds
    assert any(o.claimed for o in done) and any(not o.claimed for o in done)


@pytest.mark.parametrize("rule", sorted(broken_clients.BROKEN))
def test_each_broken_client_fails_exactly_its_rule(
    endpoint: Endpoint, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = ClientHarness(endpoint, broken_clients.BROKEN[rule])
    with pytest.raises(ClientContractError) as caught:
        harness.check(max_examples=0)
    error = caught.value
    print(error)  # the minimal reproduction, in the test log
    assert error.failed_rules == [rule], str(error)
    # the state-side mirror of R5 (and of R8's orphaned order) is the only other finding
    assert all(p.startswith("hold left open") for p in error.failed_properties), str(error)
    message = str(error)
    assert "minimal reproduction:" in message and "--replay" in message
    assert f"{rule} FAIL" in message


def test_generated_failures_shrink_to_a_minimal_scenario(endpoint: Endpoint) -> None:
    """Without the fixed key scenarios, hypothesis finds a failing plan and shrinks it to
    the one fault that matters: the R6-broken client, one rate-limited call."""
    harness = ClientHarness(endpoint, broken_clients.BROKEN["R6"])
    with pytest.raises(ClientContractError) as caught:
        harness.check(performances=(10003, 10001), max_examples=20, key_examples=False)
    scenario = caught.value.outcome.scenario
    assert scenario.quantity == 1 and scenario.performance_id == 10003, scenario.describe()
    (fault,) = scenario.faults
    assert fault.kind == "rate_limit", scenario.describe()


def test_the_client_must_tell_the_truth(endpoint: Endpoint) -> None:
    """A client that says success without buying, or failure after buying, is caught."""

    def liar(env: object) -> bool:
        return not reference_client.run(env)

    harness = ClientHarness(endpoint, liar)
    outcome = harness.run_example(Scenario(10003, 2, ()))
    assert outcome.report.passed and not outcome.ok
    assert outcome.properties == ["the client said failure but 2 place(s) were sold"]
    outcome = harness.run_example(Scenario(10003, 2, (Fault("sold_out"),)))
    assert outcome.properties == ["the client said success but 0 place(s) were sold (2 asked)"]


def test_a_crashing_client_fails(endpoint: Endpoint) -> None:
    def crashes(env: object) -> bool:
        raise RuntimeError("boom")

    outcome = ClientHarness(endpoint, crashes).run_example(Scenario(10003, 1, ()))
    assert not outcome.ok and outcome.error == "RuntimeError: boom"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_node_client_through_the_command_line(
    endpoint: Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    from mock_server.cli import main

    status = main(
        [
            "contract", "client", "--cmd", f"node {EXAMPLES / 'client.mjs'}",
            "--url", endpoint.base_url, "--examples", "1",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "client contract holds" in out and "R8 pass" in out
    assert out.count("  ok   ") >= 9


def test_a_broken_command_client_fails_with_a_replayable_scenario(
    endpoint: Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    from mock_server.cli import main

    command = f"{sys.executable} {EXAMPLES / 'broken_clients.py'} R8"
    args = ["contract", "client", "--cmd", command, "--url", endpoint.base_url]
    assert main([*args, "--examples", "0"]) == 1
    out = capsys.readouterr().out
    assert "CONTRACT BROKEN (rules ['R8']" in out
    replay = out.split("--replay '", 1)[1].split("'", 1)[0]
    assert Scenario.from_json(replay).faults == (Fault("reply_lost", "createOrUpdateOrder"),)
    assert main([*args, "--replay", replay]) == 1
    assert "R8 FAIL" in capsys.readouterr().out
