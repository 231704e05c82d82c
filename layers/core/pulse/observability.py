"""Powertools Logger, Metrics and Tracer shared by every function of a container."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pulse")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Pulse")

# A request that records no metric of its own is normal (health, docs); do not warn on each one.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
