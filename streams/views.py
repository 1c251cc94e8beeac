"""Web views of a worker: one customer's current state, plus health, readiness and metrics.

``GET /customers/{id}`` is answered by the worker that owns the customer's partition:
faust's ``table_route`` forwards the request there when it is another worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams import health

if TYPE_CHECKING:
    from streams.app import Runtime


def customer_view(rt: Runtime, customer_id: str) -> dict[str, Any] | None:
    """The JSON body for one customer: every journey's state, or None when unknown."""
    record = rt.customers.get(customer_id)
    if not record:
        return None
    return {"customer_id": customer_id, "journeys": record}


def register(rt: Runtime) -> None:
    """Add the customer view and the health/readiness/metrics views to ``rt.app``."""
    app = rt.app
    customers = rt.customers

    @app.page("/customers/{id}")
    @app.table_route(table=customers, match_info="id")
    async def get_customer(self: Any, request: Any, id: str) -> Any:
        body = customer_view(rt, id)
        if body is None:
            return self.json({"error": "unknown customer", "customer_id": id}, status=404)
        return self.json(body)

    readiness = health.faust_checks(app, rt.settings.bootstrap_list)
    health.register_views(app, rt.metrics, readiness)
    rt.extra["readiness"] = readiness
