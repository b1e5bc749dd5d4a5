"""The control plane (``/_mock/...``): a flask app beside the SOAP services."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from mock_server.core.clock import format_instant
from mock_server.simulator import Simulator
from mock_server.soap.namespaces import ALL_SERVICES
from mock_server.store.store import get_meta


def create_admin_app(sim: Simulator, root: Any) -> Flask:
    app = Flask("s360mock.admin")
    bp = Blueprint("admin", __name__, url_prefix="/_mock")

    @bp.get("/health")
    def health() -> Any:
        with sim.store.read() as conn:
            dataset = get_meta(conn, "dataset")
        mounted = set(root.soap.by_path)
        return jsonify(
            status="ok",
            dataset=dataset["name"],
            clock=format_instant(sim.clock.now()),
            services=[
                {"name": s.name, "path": s.path, "mounted": s.path in mounted} for s in ALL_SERVICES
            ],
        )

    @app.errorhandler(404)
    def not_found(_error: Any) -> Any:
        return jsonify(error="not found"), 404

    app.register_blueprint(bp)
    return app
