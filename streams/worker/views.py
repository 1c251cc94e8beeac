"""Web views of a worker: one customer's current state, plus health, readiness and metrics.

``GET /customers/{id}`` is answered by the worker that owns the customer's partition:
faust's ``table_route`` forwards the request there when it is another worker.
"""

from __future__ import annotations

from typing import Any

from faust.types import TableT

from streams.worker import probes
from streams.worker.runtime import Runtime


def customer_view(rt: Runtime, customer_id: str) -> dict[str, Any] | None:
    """The JSON body for one customer: every journey's state, or None when unknown."""
    record = rt.customers.view(customer_id)
    if record is None:
        return None
    return {"customer_id": customer_id, "journeys": record}


def register(rt: Runtime, customers: TableT[str, Any]) -> None:
    """Add the customer view and the health/readiness/metrics views to ``rt.app``;
    ``customers`` is the journey table (requests are routed to its partition's owner)."""
    app = rt.app

    @app.page("/customers/{id}")
    @app.table_route(table=customers, match_info="id")
    async def get_customer(self: Any, request: Any, id: str) -> Any:
        body = customer_view(rt, id)
        if body is None:
            return self.json({"error": "unknown customer", "customer_id": id}, status=404)
        return self.json(body)

    readiness = probes.faust_checks(app, rt.settings.bootstrap_list)
    probes.register_views(app, rt.metrics, readiness)
    rt.registered.readiness = readiness
