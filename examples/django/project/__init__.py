"""A tiny Django (WSGI) app to deploy with stagecraft.webapp."""

__version__ = "1.0.0"
