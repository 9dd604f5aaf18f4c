"""The guestbook page (writes and reads the database) and the health route."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template_string, request, url_for

from guestbook import __version__
from guestbook.db import get_db, initialised

bp = Blueprint("guestbook", __name__)
MAX_MESSAGE = 500
PAGE = """<!doctype html>
<title>Guestbook</title>
<h1>Guestbook</h1>
<form method="post"><input name="message" maxlength="{{ limit }}" required> <button>Sign</button></form>
<ul>{% for entry in entries %}<li>{{ entry["created"] }}: {{ entry["message"] }}</li>{% endfor %}</ul>
"""


def revision() -> str | None:
    """The commit of this release: $APP_COMMIT, or the REVISION file the deploy step writes beside the package."""
    commit = os.environ.get("APP_COMMIT")
    if commit:
        return commit
    marker = Path(current_app.root_path).parent / "REVISION"
    if not marker.is_file():
        return None
    return marker.read_text().strip() or None


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "POST":
        message = request.form.get("message", "").strip()
        if not message or len(message) > MAX_MESSAGE:
            return f"a message of 1 to {MAX_MESSAGE} characters, please", 400
        db = get_db()
        db.execute("INSERT INTO entry (message) VALUES (?)", (message,))
        db.commit()
        # Post/redirect/get: a reload does not sign twice.
        return redirect(url_for("guestbook.index"), 303)
    entries = get_db().execute("SELECT created, message FROM entry ORDER BY id DESC LIMIT 50").fetchall()
    return render_template_string(PAGE, entries=entries, limit=MAX_MESSAGE)


@bp.get("/healthz")
def healthz():
    """200 once the database answers and `flask init-db` made its tables; 503 before."""
    try:
        ready = initialised()
    except sqlite3.Error as exc:
        return jsonify(status="database unreachable", error=type(exc).__name__), 503
    if not ready:
        return jsonify(status="database not initialised: run flask --app guestbook init-db"), 503
    return jsonify(status="ok", version=__version__, commit=revision(), app="flask-factory")
