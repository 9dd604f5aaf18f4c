"""A Flask app factory with an instance folder: `gunicorn "guestbook:create_app()"`."""

from __future__ import annotations

import os

from flask import Flask

__version__ = "1.0.0"


def create_app(test_config: dict | None = None) -> Flask:
    """The app, configured from its instance folder and then the environment (FLASK_*)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=None,
        DATABASE=os.path.join(app.instance_path, "guestbook.sqlite"),
    )
    if test_config is None:
        # instance/config.py, if the host has one; the environment overrides it.
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"]:
        if not app.debug:
            raise RuntimeError("FLASK_SECRET_KEY is not set (only FLASK_DEBUG=1 runs without one)")
        app.config["SECRET_KEY"] = "development only"
    # from_prefixed_env reads JSON first: a key of digits only would be a number.
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])
    os.makedirs(app.instance_path, exist_ok=True)

    from guestbook import db, views

    db.init_app(app)
    app.register_blueprint(views.bp)
    return app
