"""The floor: the cheapest FastAPI endpoint shaped like an IPC call.

Whatever RPMA spends above this is its own: the framework, the server, the HTTP parsing
and the load generator are the same.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/ipc/floor")
async def floor() -> dict[str, Any]:
    return {
        "success": True,
        "data": None,
        "correlation_id": "req_floor",
        "timestamp": time.time_ns() // 1_000_000,
    }
