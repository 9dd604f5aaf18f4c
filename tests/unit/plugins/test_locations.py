"""The nginx role's location rules (plugins/module_utils/_locations.py) and their filters: what a
static or SPA location may serve, and the paths nginx's alias would let climb."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.nginx_location_dir import FilterModule as DirFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.filter.nginx_location_problems import FilterModule as ProblemsFilter  # noqa: E402
from ansible_collections.stagecraft.webapp.plugins.module_utils._locations import location_dir, location_problems  # noqa: E402

BASE = "/srv/shop/prod"


def static(directory, path="/files/", kind="static"):
    return [{"path": path, "type": kind, "dir": directory}]


@pytest.mark.parametrize("directory, root, confine", [
    ("staticfiles", "/srv/shop/prod/current/staticfiles/", "/srv/shop/prod/current"),
    ("frontend/dist/", "/srv/shop/prod/current/frontend/dist/", "/srv/shop/prod/current"),
    ("./media//", "/srv/shop/prod/current/media/", "/srv/shop/prod/current"),
    ("/srv/shop/prod/shared/uploads", "/srv/shop/prod/shared/uploads/", "/srv/shop/prod/shared"),
    ("/srv/shop/prod/current/static", "/srv/shop/prod/current/static/", "/srv/shop/prod/current"),
    # Written out, these lie outside both roots, or are a root itself.
    ("../../../../../etc", "/etc/", ""),
    ("/etc", "/etc/", ""),
    ("/srv/shop/prod/shared", "/srv/shop/prod/shared/", ""),
    (".", "/srv/shop/prod/current/", ""),
    ("/srv/shop/prod/currently", "/srv/shop/prod/currently/", ""),
    ("/srv/shop/dev/current/static", "/srv/shop/dev/current/static/", ""),
])
def test_location_dir_writes_the_directory_out(directory, root, confine):
    assert location_dir(BASE, directory) == {"root": root, "confine": confine}
    assert DirFilter().filters()["nginx_location_dir"](directory, BASE + "/") == {"root": root, "confine": confine}


@pytest.mark.parametrize("directory", ["staticfiles", "frontend/dist", "/srv/shop/prod/shared/media/", "static.v2/x..y"])
def test_directories_inside_the_release_or_shared_pass(directory):
    assert location_problems(static(directory), BASE) == []


@pytest.mark.parametrize("directory, message", [
    # The reproduction: /files/passwd served the host's /etc/passwd.
    ("../../../../../etc", 'nginx_locations[0].dir "../../../../../etc" climbs with ".."'),
    ("staticfiles/../../../releases", 'climbs with ".."'),
    ("/srv/shop/prod/current/../../../../etc", 'climbs with ".."'),
    ("/etc", 'nginx_locations[0].dir "/etc" is outside this app\'s release and shared directories'),
    ("/srv/shop/dev/current/static", "is outside this app's release"),
    ("/srv/shop/prod/currently", "is outside this app's release"),
    (".", "is outside this app's release"),
    ("/srv/shop/prod/shared", "is outside this app's release"),
    ("/srv/shop/prod", "is outside this app's release"),
    ("/", "is outside this app's release"),
    ("$document_root", 'holds spaces, quotes, braces, "$" or ";"'),
    ("static files", "holds spaces"),
    ("static;", "holds spaces"),
    ('static"', "holds spaces"),
])
def test_directories_that_lead_out_are_refused(directory, message):
    for kind in ("static", "spa"):
        problems = location_problems(static(directory, kind=kind), BASE)
        assert len(problems) == 1 and message in problems[0], problems


RESOLVED = {BASE: BASE, "/srv/shop/prod/current": "/srv/shop/prod/releases/20260101", "/srv/shop/prod/shared": "/srv/shop/prod/shared"}


@pytest.mark.parametrize("real, refused", [
    ("/srv/shop/prod/releases/20260101/staticfiles", False),
    ("/srv/shop/prod/shared/media", False),              # a shared dir the deploy step links into the release
    ("/etc", True),                                      # staticfiles -> /etc in the release
    ("/srv/shop/prod/releases/20260101", True),          # a link to the release root itself
    ("/srv/shop/prod/releases/20251231/staticfiles", True),  # another release than the current one
    ("/srv/flask/prod/shared/media", True),
])
def test_symlinks_on_the_host_that_lead_out_are_refused(real, refused):
    resolved = dict(RESOLVED, **{"/srv/shop/prod/current/staticfiles": real})
    problems = location_problems(static("staticfiles"), BASE, resolved)
    if refused:
        assert problems == ['nginx_locations[0].dir "staticfiles" leads out of this app\'s release and shared directories'
                            " through a symlink: on the host it is " + real]
    else:
        assert problems == []


def test_a_current_link_that_leads_out_is_refused():
    resolved = {"/srv/shop/prod": "/data/shop/prod", "/srv/shop/prod/current": "/etc", "/srv/shop/prod/current/ssl": "/etc/ssl",
                "/srv/shop/prod/shared": "/data/shop/prod/shared"}
    assert "on the host it is /etc/ssl" in location_problems(static("ssl"), BASE, resolved)[0]
    # The app's directory may itself be a link (/srv -> /data): what counts is where it leads.
    resolved.update({"/srv/shop/prod/current": "/data/shop/prod/releases/1", "/srv/shop/prod/current/ssl": "/data/shop/prod/releases/1/ssl"})
    assert location_problems(static("ssl"), BASE, resolved) == []


@pytest.mark.parametrize("path, kind, message", [
    # The alias trap: `location /static { alias .../static/; }` serves /static../x from the parent.
    ("/static", "static", 'nginx_locations[0].path "/static" must end with "/" for a static location'),
    ("/app", "spa", 'nginx_locations[0].path "/app" must end with "/" for a spa location'),
    ("static/", "static", 'must start with "/"'),
    ("/a b/", "static", 'must start with "/"'),
    ("/a;/", "proxy", 'must start with "/"'),
])
def test_paths_are_checked(path, kind, message):
    problems = location_problems([{"path": path, "type": kind, "dir": "staticfiles"}], BASE)
    assert len(problems) == 1 and message in problems[0], problems


def test_a_media_location_serves_the_apps_media_directory_confined_from_its_base():
    served = {"root": "/srv/shop/prod/media/", "confine": "/srv/shop/prod"}
    assert location_dir(BASE, "", "media") == served
    assert location_dir(BASE, "../../etc", "media") == served
    assert DirFilter().filters()["nginx_location_dir"]("", BASE + "/", "media") == served
    assert location_problems([{"path": "/media/", "type": "media"}], BASE) == []


@pytest.mark.parametrize("location, resolved, message", [
    # The alias trap, as for static locations.
    ({"path": "/media", "type": "media"}, {}, 'nginx_locations[0].path "/media" must end with "/" for a media location'),
    ({"path": "/media/", "type": "media", "dir": "/srv/shop/prod/shared"}, {},
     "nginx_locations[0].dir is not used by a media location: it serves /srv/shop/prod/media"),
    ({"path": "/media/", "type": "media"}, {"/srv/shop/prod": "/srv/shop/prod", "/srv/shop/prod/media": "/srv/shop/prod/shared"},
     "nginx_locations[0] serves /srv/shop/prod/media, which leads elsewhere through a symlink: on the host it is /srv/shop/prod/shared"),
])
def test_media_locations_are_checked(location, resolved, message):
    assert location_problems([location], BASE, resolved) == [message]


def test_a_media_directory_below_a_linked_root_passes():
    resolved = {"/srv/shop/prod": "/data/shop/prod", "/srv/shop/prod/media": "/data/shop/prod/media"}
    assert location_problems([{"path": "/media/", "type": "media"}], BASE, resolved) == []


def test_proxy_paths_need_no_slash_and_no_dir():
    assert location_problems([{"path": "/api/login", "type": "proxy"}, {"path": "/"}], BASE) == []


def test_every_problem_is_reported_with_its_entry():
    problems = ProblemsFilter().filters()["nginx_location_problems"]([
        {"path": "/", "type": "proxy", "rate_limit": {"rate": "5/s"}},
        {"path": "/static/", "type": "static"},
        {"path": "/", "type": "spa", "dir": "/etc"},
    ], BASE)
    assert problems == [
        'nginx_locations[0].path "/" appears more than once',
        'nginx_locations[0].rate_limit.rate "5/s" is not "<n>r/s" or "<n>r/m"',
        "nginx_locations[1].dir is required for a static location",
        'nginx_locations[2].path "/" appears more than once',
        'nginx_locations[2].dir "/etc" is outside this app\'s release and shared directories: name a directory inside the release'
        " (relative, such as staticfiles) or below /srv/shop/prod/current or /srv/shop/prod/shared",
    ]
