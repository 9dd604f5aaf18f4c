"""A tiny Flask (WSGI) app to deploy with stagecraft.webapp: `gunicorn app:app`."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, jsonify

__version__ = "1.0.0"
HERE = Path(__file__).resolve().parent

app = Flask(__name__)
# From the environment file the gunicorn role writes (never from the code).
app.secret_key = os.environ.get("SECRET_KEY")


def revision() -> str | None:
    """The commit this release was built from: $APP_COMMIT, or the REVISION file the deploy step writes."""
    commit = os.environ.get("APP_COMMIT")
    if commit:
        return commit
    marker = HERE / "REVISION"
    if not marker.is_file():
        return None
    return marker.read_text().strip() or None


@app.get("/")
def index():
    return jsonify(
        app="flask-example",
        environment=os.environ.get("APP_ENV", "unknown"),
        pid=os.getpid(),
        secret_key_set=bool(app.secret_key),
    )


@app.get("/healthz")
def healthz():
    return jsonify(status="ok", version=__version__, commit=revision())


if __name__ == "__main__":
    # Development only: `python app.py`. Production runs under gunicorn.
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), debug=True)
