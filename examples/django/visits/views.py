from __future__ import annotations

import functools
import logging
import os

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.http import require_GET, require_http_methods

from project import __version__
from visits.models import Visit

logger = logging.getLogger(__name__)


def revision() -> str | None:
    """The commit this release was built from: $APP_COMMIT, or the REVISION file the deploy step writes."""
    commit = os.environ.get("APP_COMMIT")
    if commit:
        return commit
    marker = settings.BASE_DIR / "REVISION"
    if not marker.is_file():
        return None
    return marker.read_text().strip() or None


@functools.cache
def release_migrations() -> frozenset[tuple[str, str]]:
    """Every migration this release ships; read from disk once, since a release never changes."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


@require_GET
def index(request):
    Visit.objects.create()
    return JsonResponse(
        {
            "app": "django-example",
            "environment": os.environ.get("APP_ENV", "unknown"),
            "pid": os.getpid(),
            "secret_key_set": bool(os.environ.get("DJANGO_SECRET_KEY")),
            "visits": Visit.objects.count(),
        }
    )


@require_GET
def healthz(request):
    """503 until the database is reachable and has every migration of this release applied."""
    body = {"status": "ok", "version": __version__, "commit": revision(), "app": "django"}
    try:
        pending = release_migrations() - MigrationRecorder(connection).applied_migrations().keys()
    except DatabaseError:
        logger.exception("health check: database unreachable")
        return JsonResponse(body | {"status": "database unreachable"}, status=503)
    if pending:
        logger.warning("health check: migrations not applied: %s", sorted(pending))
        return JsonResponse(body | {"status": "migrations pending"}, status=503)
    return JsonResponse(body)


@require_http_methods(["GET", "POST"])
def upload(request):
    """GET: a CSRF token (also set as the csrftoken cookie). POST with a `file` field: saved under
    MEDIA_ROOT/uploads/ (Django makes the name safe and unique); 201 with the URL nginx serves it at."""
    if request.method == "GET":
        return JsonResponse({"csrf_token": get_token(request)})
    upload_file = request.FILES.get("file")
    if upload_file is None:
        return JsonResponse({"error": "no file field"}, status=400)
    name = default_storage.save("uploads/" + upload_file.name, upload_file)
    return JsonResponse({"url": default_storage.url(name)}, status=201)
