"""Contract tests for S-360 (docs/contract-testing.md).

* ``contract_tests.provider``: a hypothesis state machine over the public SOAP API,
  runnable against the simulator or a real S-360 sandbox (``run_provider``).
* ``contract_tests.rules``: the integration rules R1..R8 checked on a request journal
  (``check_rules``).
* ``contract_tests.harness``: a partner client (callable or command) run against the
  simulator under hypothesis-drawn fault plans (``check_client``).
* ``contract_tests.plugin``: the pytest plugin ``s360``; ``contract_tests.cli``: the
  ``s360-mock contract`` command.
"""
