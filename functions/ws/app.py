"""WebSocket API: ``$connect`` (JWT in ``?token=``), ``$disconnect``, ``subscribe``/``unsubscribe``.

A plain Lambda handler (API Gateway WebSocket proxy events); protocol in ``pulse.etl.live``.
"""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from pulse.etl import live
from pulse.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route by ``requestContext.routeKey``."""
    request = event.get("requestContext") or {}
    route_key = str(request.get("routeKey", "$default"))
    connection_id = str(request.get("connectionId", ""))
    if route_key == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token")
        return live.on_connect(connection_id=connection_id, token=token)
    if route_key == "$disconnect":
        return live.on_disconnect(connection_id=connection_id)
    return live.on_message(connection_id=connection_id, route_key=route_key, body=event.get("body"))


pulse.coldstart.settle()  # the end of this function's initialisation
