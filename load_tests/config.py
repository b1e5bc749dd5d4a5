"""The load profile: who the users are, how often they act, how they judge replies.

Defaults below; overridden by a JSON file (``S360_LOAD_CONFIG``, any subset of the
keys of :data:`DEFAULTS`), then by single environment variables, which is how
``s360-mock load`` passes its flags to every locust process (master and workers
alike, on this machine or another):

==========================  ====================================================
``S360_LOAD_CONFIG``        JSON file with any of the keys of ``DEFAULTS``
``S360_LOAD_PARTNERS``      ``LOGIN:PASSWORD,LOGIN:PASSWORD`` (default: both demo partners)
``S360_LOAD_WEIGHTS``       ``buyer=6,availability=2,catalog=1,contacts=1``
``S360_LOAD_WAIT``          think time between tasks, seconds: ``buyer=0.5-2,catalog=2``
``S360_LOAD_ON_429``        ``fail`` (default: a refused call is a locust failure) or ``ignore``
``S360_LOAD_SEED``          seed of the users' random choices (default: random)
``S360_LOAD_OUTPUT``        where the locust master (or single process) writes its counters
==========================  ====================================================

Nothing here imports locust: the runner and the tests use it too.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: User kinds: the short name used in weights and think times -> the locust User class.
USER_CLASSES = {
    "catalog": "CatalogSyncUser",
    "availability": "AvailabilityMonitorUser",
    "buyer": "BuyerUser",
    "contacts": "ContactManagerUser",
}

DEFAULTS: dict[str, Any] = {
    "partners": [
        {"login": "DEMO_PARTNER1", "password": "partner1-secret"},
        {"login": "DEMO_PARTNER2", "password": "partner2-secret"},
    ],
    # Relative share of each kind among the users (locust's User.weight).
    "weights": {"catalog": 1, "availability": 2, "buyer": 6, "contacts": 1},
    # Think time after each task, uniform in [min, max] seconds.
    "wait": {
        "catalog": [1.0, 3.0],
        "availability": [0.5, 2.0],
        "buyer": [0.5, 2.0],
        "contacts": [1.0, 3.0],
    },
    # A rate-limited call (HTTP 429/509): "fail" counts it as a failure, "ignore" as a success.
    # Either way the user then backs off for Retry-After (at most retryAfterCap seconds).
    "on429": "fail",
    "retryAfterCap": 5.0,
    "seed": None,
    "catalog": {
        "refreshEvery": 0,  # also refetch the catalog every N polls (0: only when it changed)
        "aliveRatio": 0.1,  # share of polls that also call isCatalogServiceAlive
    },
    "availability": {
        "maxProducts": 20,  # changed products asked for in one getProductAvailability
        "eventRatio": 0.3,  # share of polls that also look at one event's availability
        "seatsRatio": 0.05,  # share of polls that also fetch one seat map (a large reply)
    },
    "buyer": {
        "maxQuantity": 4,  # seats per order, uniform in 1..maxQuantity (capped by the POS)
        "closeRatio": 0.8,  # orders paid and closed
        "cancelRatio": 0.1,  # orders cancelled (cancelOperations); the rest are left to expire
        "detailsRatio": 0.2,  # closed orders read back with getOrderDetails
        "popularity": 1.0,  # Zipf exponent over on-sale performances (0: uniform)
    },
    "contacts": {
        "deleteRatio": 0.2,
        "criteria": {"NEWSLETTER": "true"},  # set with setContactCriteria ({}: skipped)
    },
}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Partner:
    login: str
    password: str


@dataclass(frozen=True)
class LoadConfig:
    raw: dict[str, Any]

    @property
    def partners(self) -> list[Partner]:
        return [Partner(p["login"], p["password"]) for p in self.raw["partners"]]

    @property
    def weights(self) -> dict[str, int]:
        return dict(self.raw["weights"])

    def wait(self, kind: str) -> tuple[float, float]:
        low, high = self.raw["wait"][kind]
        return float(low), float(high)

    @property
    def on_429(self) -> str:
        return str(self.raw["on429"])

    @property
    def retry_after_cap(self) -> float:
        return float(self.raw["retryAfterCap"])

    @property
    def seed(self) -> int | None:
        seed = self.raw["seed"]
        return None if seed is None else int(seed)

    def section(self, kind: str) -> dict[str, Any]:
        return dict(self.raw[kind])

    def user_classes(self) -> list[str]:
        """The User classes with a positive weight."""
        return [USER_CLASSES[k] for k, w in self.weights.items() if w > 0]


SECTIONS = ("catalog", "availability", "buyer", "contacts")


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> None:
    """Override ``base`` in place: sections key by key, weights and waits kind by kind."""
    for key, value in override.items():
        if key not in base:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(base))})")
        if key in SECTIONS or key in ("weights", "wait"):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: {key} must be an object")
            for inner in value:
                if key in SECTIONS and inner not in base[key]:
                    raise ConfigError(f"{where}: unknown key {key}.{inner}")
            base[key] = {**base[key], **value}
        else:
            base[key] = value


def parse_partners(text: str) -> list[dict[str, str]]:
    partners = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        login, sep, password = item.partition(":")
        if not sep or not login or not password:
            raise ConfigError(f"partner {item!r}: LOGIN:PASSWORD expected")
        partners.append({"login": login, "password": password})
    if not partners:
        raise ConfigError("no partner given")
    return partners


def _kind(name: str) -> str:
    key = name.strip()
    for short, cls in USER_CLASSES.items():
        if key in (short, cls):
            return short
    raise ConfigError(f"unknown user kind {name!r} (known: {', '.join(USER_CLASSES)})")


def parse_weights(text: str) -> dict[str, int]:
    weights = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"weight {item!r}: KIND=N expected")
        try:
            weight = int(value)
        except ValueError:
            raise ConfigError(f"weight {item!r}: N must be an integer") from None
        if weight < 0:
            raise ConfigError(f"weight {item!r}: N must be >= 0")
        weights[_kind(name)] = weight
    return weights


def parse_wait(text: str) -> dict[str, list[float]]:
    waits = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"wait {item!r}: KIND=SECONDS or KIND=MIN-MAX expected")
        low_text, _, high_text = value.partition("-")
        try:
            low = float(low_text)
            high = float(high_text) if high_text else low
        except ValueError:
            raise ConfigError(f"wait {item!r}: seconds must be numbers") from None
        if low < 0 or high < low:
            raise ConfigError(f"wait {item!r}: 0 <= MIN <= MAX expected")
        waits[_kind(name)] = [low, high]
    return waits


def _validate(raw: dict[str, Any]) -> None:
    if not raw["partners"]:
        raise ConfigError("partners: at least one partner")
    for p in raw["partners"]:
        if not isinstance(p, Mapping) or not p.get("login") or not p.get("password"):
            raise ConfigError(f"partners: {{login, password}} expected, got {p!r}")
    for kind in raw["weights"]:
        _kind(kind)
    if sum(raw["weights"].values()) <= 0:
        raise ConfigError("weights: at least one user kind needs a positive weight")
    for kind, bounds in raw["wait"].items():
        _kind(kind)
        if len(bounds) != 2 or not 0 <= float(bounds[0]) <= float(bounds[1]):
            raise ConfigError(f"wait.{kind}: [min, max] with 0 <= min <= max expected")
    if raw["on429"] not in ("fail", "ignore"):
        raise ConfigError(f"on429: 'fail' or 'ignore', not {raw['on429']!r}")
    buyer = raw["buyer"]
    if buyer["closeRatio"] + buyer["cancelRatio"] > 1:
        raise ConfigError("buyer: closeRatio + cancelRatio must be <= 1")
    if int(buyer["maxQuantity"]) < 1:
        raise ConfigError("buyer.maxQuantity: at least 1")


def load_config(environ: Mapping[str, str] | None = None) -> LoadConfig:
    env = os.environ if environ is None else environ
    raw = copy.deepcopy(DEFAULTS)
    path = env.get("S360_LOAD_CONFIG")
    if path:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"S360_LOAD_CONFIG {path}: {error}") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"S360_LOAD_CONFIG {path}: a JSON object expected")
        _merge(raw, doc, path)
    if env.get("S360_LOAD_PARTNERS"):
        raw["partners"] = parse_partners(env["S360_LOAD_PARTNERS"])
    if env.get("S360_LOAD_WEIGHTS"):
        raw["weights"] = {**raw["weights"], **parse_weights(env["S360_LOAD_WEIGHTS"])}
    if env.get("S360_LOAD_WAIT"):
        raw["wait"] = {**raw["wait"], **parse_wait(env["S360_LOAD_WAIT"])}
    if env.get("S360_LOAD_ON_429"):
        raw["on429"] = env["S360_LOAD_ON_429"]
    if env.get("S360_LOAD_SEED"):
        raw["seed"] = int(env["S360_LOAD_SEED"])
    raw["weights"] = {_kind(k): int(v) for k, v in raw["weights"].items()}
    raw["wait"] = {_kind(k): list(v) for k, v in raw["wait"].items()}
    _validate(raw)
    return LoadConfig(raw)
