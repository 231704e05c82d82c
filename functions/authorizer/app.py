"""The HTTP API's Lambda authorizer: verifies the bearer credential, passes its claims on.

A plain Lambda handler (payload 2.0, simple responses); the decision is ``pulse.auth.authorizer``.
"""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from pulse.auth.authorizer import authorize
from pulse.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event)


pulse.coldstart.settle()  # the end of this function's initialisation
