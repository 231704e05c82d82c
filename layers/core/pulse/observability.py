"""Powertools Logger, Metrics and Tracer shared by every function of a container.

Where tracing is off (outside Lambda, under SAM local, or ``POWERTOOLS_TRACE_DISABLED``), the
Tracer gets a provider that does nothing: Powertools would otherwise import the X-Ray SDK (and
botocore with it), about 170 ms of cold start for traces nobody collects.

Where it is on, X-Ray patches what request paths use (``TRACED_MODULES``), not every library it
supports that is installed, which is Powertools' default: that would patch SQLAlchemy (whose
statements pg8000's patch traces already) and botocore at every cold start, 141-185 ms against
13-18 ms for pg8000 alone (measured in a fresh process on the layer's packages). botocore is
patched when a function first creates an AWS client (``aws_client``), so AWS calls are traced
where they are made.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pulse")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Pulse")

# A request that records no metric of its own is normal (health, docs); do not warn on each one.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class NoTracing(BaseProvider):
    """A tracing provider that records nothing and imports nothing."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' rule: trace only inside Lambda, not under SAM local, unless disabled."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on"):
        return False
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not environ.get("AWS_SAM_LOCAL")


# PostgreSQL statements and outgoing HTTP (the ETL service); botocore: see trace_aws_calls.
TRACED_MODULES: Final = ("pg8000", "httplib")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = (
    Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
    if tracing_enabled()
    else Tracer(service=SERVICE, disabled=True, provider=NoTracing())
)


@cache
def trace_aws_calls() -> None:
    """Patch botocore for X-Ray, once per container (nothing where tracing is off)."""
    tracer.patch(["botocore"])


def aws_client(service_name: str, **options: Any) -> Any:
    """A boto3 client whose calls are traced (``boto3.client`` arguments)."""
    import boto3

    trace_aws_calls()
    return boto3.client(service_name, **options)
