"""pytest plugin ``s360`` (registered by the ``pytest11`` entry point of s360-mock).

Options::

    --s360-url URL            the S-360 endpoint under test; without it a simulator is
                              started for the session (mock_server.testing.running_simulator)
    --s360-user / --s360-password        the partner login (DEMO_PARTNER1 / partner1-secret)
    --s360-admin-token TOKEN  the simulator's control-plane token, if it has one
    --s360-profile ci|dev|thorough       how hard the properties try (default ci)
    --s360-seed N             replay a run of the provider machine / client property
    --s360-sandbox-safe       stay inside the platform's rate limits (a real sandbox)
    --s360-availability strict|tolerant|off
    --s360-barcode-format luhn|digits|any|regex:PATTERN

Fixtures: ``s360_endpoint`` (an :class:`~contract_tests.soapclient.Endpoint`),
``s360_admin`` (the control plane, or the test is skipped), ``s360_provider_options``,
``s360_contract`` (``.provider()`` runs the provider machine, ``.client(callable or
command)`` checks a partner client). Tests marked ``@pytest.mark.s360_admin`` are
skipped against an endpoint without the control plane (a real S-360 host).

A partner's own ``test_contract.py``::

    def test_the_provider_keeps_the_contract(s360_contract):
        s360_contract.provider()

    @pytest.mark.s360_admin
    def test_our_client_keeps_the_rules(s360_contract):
        s360_contract.client("node our-client.mjs")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from contract_tests.provider import PROFILES, ProviderOptions, ProviderResult, run_provider
from contract_tests.soapclient import DEFAULT_LOGIN, Endpoint

CLIENT_EXAMPLES = {"ci": 4, "dev": 25, "thorough": 200}


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("s360", "S-360 contract tests (contract_tests)")
    group.addoption("--s360-url", default=None, help="S-360 base URL; default: start a simulator")
    group.addoption("--s360-user", default=DEFAULT_LOGIN[0], help="partner login")
    group.addoption("--s360-password", default=DEFAULT_LOGIN[1], help="partner password")
    group.addoption("--s360-admin-token", default=None, help="the simulator's admin token")
    group.addoption(
        "--s360-profile", default="ci", choices=sorted(PROFILES), help="ci (default), dev, thorough"
    )
    group.addoption("--s360-seed", type=int, default=None, help="replay with this seed")
    group.addoption(
        "--s360-sandbox-safe",
        action="store_true",
        help="tiny budgets inside the platform's rate limits (for a real sandbox)",
    )
    group.addoption(
        "--s360-availability",
        default=None,
        choices=("strict", "tolerant", "off"),
        help="availability = capacity - held - sold: strict (simulator default) or tolerant",
    )
    group.addoption(
        "--s360-barcode-format",
        default="luhn",
        help="luhn (simulator), digits, any, or regex:PATTERN",
    )


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "s360_admin: needs the simulator's control plane (/_mock); skipped against a real S-360 host",
    )


@dataclass
class ContractRunner:
    endpoint: Endpoint
    options: ProviderOptions
    profile: str

    def provider(self, **overrides: Any) -> ProviderResult:
        """Run the provider state machine against the endpoint."""
        options = ProviderOptions(**{**self.options.__dict__, **overrides})
        return run_provider(self.endpoint, options)

    def client(self, client: Callable[[Any], Any] | str, **options: Any) -> Any:
        """Check a partner client (a callable ``client(env) -> bool`` or a command line)
        against the integration rules and the invariants; needs the control plane."""
        from contract_tests.harness import check_client

        if self.endpoint.admin is None:
            pytest.skip("the client contract needs the simulator's control plane (/_mock)")
        options.setdefault("max_examples", CLIENT_EXAMPLES.get(self.profile, 4))
        options.setdefault("derandomize", self.options.seed is None)
        options.setdefault("seed_value", self.options.seed)
        return check_client(self.endpoint, client, **options)


@pytest.fixture(scope="session")
def s360_endpoint(request: Any) -> Iterator[Endpoint]:
    """The endpoint under test: ``--s360-url``, or a simulator started for the session."""
    opt = request.config.getoption
    url = opt("--s360-url")
    if url:
        yield Endpoint(url, opt("--s360-user"), opt("--s360-password"), opt("--s360-admin-token"))
        return
    from mock_server.testing import running_simulator

    with running_simulator() as running:
        yield Endpoint(
            running.base_url,
            opt("--s360-user"),
            opt("--s360-password"),
            running.sim.config.admin_token,
        )


@pytest.fixture
def s360_admin(s360_endpoint: Endpoint) -> Any:
    if s360_endpoint.admin is None:
        pytest.skip(f"{s360_endpoint.base_url} has no control plane (/_mock)")
    return s360_endpoint.admin


@pytest.fixture
def s360_provider_options(request: Any) -> ProviderOptions:
    opt = request.config.getoption
    options = ProviderOptions(
        barcode_format=opt("--s360-barcode-format"),
        sandbox_safe=opt("--s360-sandbox-safe"),
        profile=opt("--s360-profile"),
        seed=opt("--s360-seed"),
    )
    if opt("--s360-availability"):
        options.availability = opt("--s360-availability")
    elif opt("--s360-sandbox-safe"):
        options.availability = "tolerant"
    return options


@pytest.fixture
def s360_contract(
    s360_endpoint: Endpoint, s360_provider_options: ProviderOptions, request: Any
) -> ContractRunner:
    return ContractRunner(
        s360_endpoint, s360_provider_options, request.config.getoption("--s360-profile")
    )


def pytest_runtest_setup(item: Any) -> None:
    if item.get_closest_marker("s360_admin") is None:
        return
    url = item.config.getoption("--s360-url")
    if not url:
        return  # the session's own simulator has a control plane
    endpoint = Endpoint(url, admin_token=item.config.getoption("--s360-admin-token"))
    if endpoint.admin is None:
        pytest.skip(f"{url} has no control plane (/_mock): a real S-360 host")
