"""The cold-start baseline: a bare FastAPI app behind Mangum with one GET route returning JSON."""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, str]:
    """A constant JSON answer."""
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
