# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The locations of the nginx role's server block (nginx_locations), checked before they reach a host.

A static or SPA location serves files of this app and environment only: its directory lies inside
the current release (`<base>/current/...`, the default for a relative `dir`) or inside the shared
directory the deploy step links into every release (`<base>/shared/...`), where `<base>` is
`<nginx_root>/<app>/<env>`. So:

- `dir` holds no `..` and no character nginx would read as syntax or a variable;
- written out, it lies strictly below one of those two roots (the root itself would serve the
  app's code and the secrets linked into it, such as a shared `.env`);
- where it exists on the host, it still does with every symlink followed (`resolved`: what
  `realpath` answered there), so a link in a release or in shared/ cannot lead out.

What the host holds later (a new release, new files) is guarded at request time: the server block
serves these locations with `disable_symlinks if_not_owner from=<root>`, so below the root a symlink
is followed only to a file of the link's own owner (the app's user owns its release; /etc belongs
to root).

A media location serves the app's uploads from `<base>/media` (the gunicorn role's
gunicorn_media: the app's user writes there, nginx's group reads, nothing else of the app's is
reachable from it). It takes no `dir`; where the host resolved it, it must still be
`<base>/media` with every symlink followed.

nginx's alias trap (`location /static { alias /dir/; }` serves `/static../x` from the parent) is
closed by the path rule: a static, SPA or media path ends in "/", as the alias it gets always does.
"""

from __future__ import annotations

import json
import posixpath
import re

PATH = re.compile(r"^/[^\s{};]*$")
# nginx reads "$" as a variable, quotes and braces as syntax; none belongs in a directory name.
DIR_UNSAFE = re.compile(r"[\s{};$\"'\\]")
RATE = re.compile(r"^[1-9][0-9]*r/[sm]$")
FILE_TYPES = ("static", "spa", "media")
# Served from a directory of the location's own choosing (`dir`); media from the app's media directory.
DIR_TYPES = ("static", "spa")


def _inside(path, root):
    """True when `path` lies strictly below `root` (both absolute and normalised)."""
    return path.startswith(root.rstrip("/") + "/") and path != root


def location_roots(app_base):
    """The two directories a location may serve from: the current release and the shared directory."""
    base = posixpath.normpath(app_base)
    return [base + "/current", base + "/shared"]


def media_dir(app_base):
    """The directory a media location serves: the app's uploads, beside shared/ (not inside it)."""
    return posixpath.normpath(app_base) + "/media"


def location_dir(app_base, directory, kind="static"):
    """Where a static or SPA location's `directory` points, written out without following links.

    Returns {"root": the absolute directory with one trailing "/" (what nginx's alias gets),
    "confine": the release or shared root it lies in, "" when it lies in neither}. A media
    location serves the app's media directory whatever `directory` says; it is confined from the
    app's directory on, so that the media directory itself may not be a link either.
    """
    if kind == "media":
        return {"root": media_dir(app_base) + "/", "confine": posixpath.normpath(app_base)}
    current = location_roots(app_base)[0]
    joined = directory if directory.startswith("/") else current + "/" + directory
    root = posixpath.normpath(joined)
    confine = next((base for base in location_roots(app_base) if _inside(root, base)), "")
    return {"root": root.rstrip("/") + "/", "confine": confine}


def _media_problem(where, location, app_base, resolved):
    if location.get("dir"):
        return "{0}.dir is not used by a media location: it serves {1}".format(where, media_dir(app_base))
    base = posixpath.normpath(app_base)
    real = resolved.get(media_dir(app_base))
    if real is not None and real != resolved.get(base, base) + "/media":
        return "{0} serves {1}, which leads elsewhere through a symlink: on the host it is {2}".format(where, media_dir(app_base), real)
    return None


def _dir_problem(where, directory, app_base, resolved):
    if DIR_UNSAFE.search(directory):
        return "{0}.dir {1} holds spaces, quotes, braces, \"$\" or \";\"".format(where, json.dumps(directory))
    if ".." in directory.split("/"):
        return "{0}.dir {1} climbs with \"..\"; name a directory inside the release or {2}/shared".format(
            where, json.dumps(directory), posixpath.normpath(app_base))
    served = location_dir(app_base, directory)
    current, shared = location_roots(app_base)
    if not served["confine"]:
        return ("{0}.dir {1} is outside this app's release and shared directories: name a directory inside the release"
                " (relative, such as staticfiles) or below {2} or {3}".format(where, json.dumps(directory), current, shared))
    real = resolved.get(served["root"].rstrip("/"))
    if real is None:
        return None
    base = posixpath.normpath(app_base)
    real_base, real_current = resolved.get(base, base), resolved.get(current, current)
    # `current` itself is a link the deploy step switches: it must lead to a release of this app.
    real_roots = [real_current] if _inside(real_current, real_base) else []
    if not any(_inside(real, root) for root in real_roots + [resolved.get(shared, shared)]):
        return "{0}.dir {1} leads out of this app's release and shared directories through a symlink: on the host it is {2}".format(
            where, json.dumps(directory), real)
    return None


def location_problems(locations, app_base, resolved=None):
    """One message per problem of `locations` (nginx_locations), naming the entry and field.

    `app_base` is `<nginx_root>/<app>/<env>`. `resolved` maps paths as location_dir writes them
    out (without the trailing "/"), `app_base` and the two roots of location_roots to what they are
    on the host with every symlink followed; paths it leaves out are checked as written only.
    """
    resolved = resolved or {}
    problems = []
    paths = [location.get("path", "") for location in locations]
    for index, location in enumerate(locations):
        where = "nginx_locations[{0}]".format(index)
        path = location.get("path") or ""
        kind = location.get("type") or "proxy"
        directory = location.get("dir") or ""
        rate_limit = location.get("rate_limit") or {}
        if not PATH.match(path):
            problems.append('{0}.path {1} must start with "/" and hold no spaces, braces or ";"'.format(where, json.dumps(path)))
        elif kind in FILE_TYPES and not path.endswith("/"):
            # Its alias ends in "/": without one here, "<path>../" would reach the parent directory.
            problems.append('{0}.path {1} must end with "/" for a {2} location'.format(where, json.dumps(path), kind))
        if paths.count(path) > 1:
            problems.append("{0}.path {1} appears more than once".format(where, json.dumps(path)))
        problem = None
        if kind == "media":
            problem = _media_problem(where, location, app_base, resolved)
        elif kind in DIR_TYPES:
            problem = _dir_problem(where, directory, app_base, resolved) if directory else "{0}.dir is required for a {1} location".format(
                where, kind)
        if problem:
            problems.append(problem)
        if rate_limit and not RATE.match(str(rate_limit.get("rate", ""))):
            problems.append('{0}.rate_limit.rate {1} is not "<n>r/s" or "<n>r/m"'.format(where, json.dumps(rate_limit.get("rate", ""))))
    return problems
