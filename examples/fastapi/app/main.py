"""FastAPI (ASGI) example: `gunicorn -k uvicorn_worker.UvicornWorker app.main:app`."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from app import __version__

ROOT = Path(__file__).resolve().parent.parent

app = FastAPI(title="fastapi-example", version=__version__)


def revision() -> str | None:
    """The commit this release was built from: $APP_COMMIT, or the REVISION file the deploy step writes."""
    commit = os.environ.get("APP_COMMIT")
    if commit:
        return commit
    marker = ROOT / "REVISION"
    if not marker.is_file():
        return None
    return marker.read_text().strip() or None


@app.get("/")
async def index() -> dict:
    return {
        "app": "fastapi-example",
        "environment": os.environ.get("APP_ENV", "unknown"),
        "pid": os.getpid(),
        "secret_key_set": bool(os.environ.get("SECRET_KEY")),
    }


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok", "version": __version__, "commit": revision()}


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    """Echoes every text message back: proves WebSocket upgrades pass through the proxy."""
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        return
