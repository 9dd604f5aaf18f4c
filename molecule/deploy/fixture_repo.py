"""Makes the deploy scenario's app repository on the controller: examples/flask as `main`, and
one branch per situation the tests deploy. Prints {branch: commit} as JSON.

Usage: python3 fixture_repo.py BARE_REPO
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask"
HEALTHZ = 'return jsonify(status="ok", version=__version__, commit=revision())'
# Each branch: its parent and the edits (file, old text, new text) that make it.
BRANCHES = {
    "code": ("main", [("app.py", '__version__ = "1.0.0"', '__version__ = "1.1.0"')]),
    "deps": ("code", [("requirements.txt", "itsdangerous==2.2.0\n", "itsdangerous==2.2.0\nsix==1.17.0\n")]),
    "broken-deps": ("deps", [("requirements.txt", "six==1.17.0\n", "six==1.17.0\nstagecraft-no-such-package==0.0.1\n")]),
    "unhealthy": ("deps", [("app.py", HEALTHZ, 'return jsonify(status="broken"), 500')]),
    # Broken only on a host that has /etc/molecule-unhealthy (the rolling scenario's second host).
    "unhealthy-where-marked": ("code", [
        ("app.py", HEALTHZ, 'return (jsonify(status="broken"), 500) if os.path.exists("/etc/molecule-unhealthy") else ' + HEALTHZ[len("return "):]),
    ]),
    # Healthy as the deploy's candidate only (its unit sets STAGECRAFT_CANDIDATE=1):
    # stands in for a release that works alone and fails under the real service.
    "unhealthy-in-service": ("deps", [
        ("app.py", HEALTHZ, 'return (jsonify(status="ok"), 200) if os.environ.get("STAGECRAFT_CANDIDATE") == "1" else (jsonify(status="broken"), 500)'),
    ]),
    # As Django's SECURE_SSL_REDIRECT behind nginx: 301 to https unless the proxy says the request came over https.
    "secure-redirect": ("deps", [
        ("app.py", "from flask import Flask, jsonify\n", "from flask import Flask, jsonify, redirect, request\n"),
        ("app.py", "app = Flask(__name__)\n", 'app = Flask(__name__)\n\n\n@app.before_request\ndef secure_ssl_redirect():\n'
         '    if request.headers.get("X-Forwarded-Proto") != "https":\n'
         '        return redirect("https://" + request.host + request.full_path.rstrip("?"), 301)\n    return None\n'),
    ]),
    # Fails to import: gunicorn's workers cannot boot.
    "missing-module": ("deps", [("app.py", "import os\n", "import os\n\nimport stagecraft_no_such_module  # noqa: F401\n")]),
    # The example's Vite frontend (deploy_npm_dir) in two releases with the same package-lock.json.
    "frontend": ("deps", [("app.py", '__version__ = "1.1.0"', '__version__ = "1.2.0"')]),
    "frontend-again": ("frontend", [("frontend/src/main.js", ": Flask example ${", ": Flask example (again) ${")]),
    # Apps pin older gunicorns: the oldest supported, the last without the control socket, and one too old.
    **{f"gunicorn-{version}": ("deps", [("requirements.txt", "gunicorn==27.0.1\n", f"gunicorn=={version}\n")])
       for version in ("21.2.0", "23.0.0", "20.1.0")},
    # An app with a SQLite database in shared/data, migrated before the switch (app.migrate()), then a release whose
    # migration adds a column. On gunicorn 23, whose venv the phase before left: neither builds one.
    "data-v1": ("gunicorn-23.0.0", [
        ("app.py", "import os\n", "import os\nimport sqlite3\n"),
        ("app.py", 'if __name__ == "__main__":', 'DATABASE = HERE / "data" / "app.db"\n\n\ndef migrate():\n'
         '    with sqlite3.connect(DATABASE) as db:\n        db.execute("CREATE TABLE IF NOT EXISTS item (name TEXT)")\n\n\n'
         '@app.get("/items")\ndef items():\n    with sqlite3.connect(DATABASE) as db:\n'
         '        cursor = db.execute("SELECT * FROM item ORDER BY rowid")\n'
         '        return jsonify(columns=[column[0] for column in cursor.description], rows=cursor.fetchall())\n\n\n'
         'if __name__ == "__main__":'),
    ]),
    "data-v2": ("data-v1", [
        ("app.py", '        db.execute("CREATE TABLE IF NOT EXISTS item (name TEXT)")\n',
         '        db.execute("CREATE TABLE IF NOT EXISTS item (name TEXT)")\n'
         '        if "price" not in [column[1] for column in db.execute("PRAGMA table_info(item)")]:\n'
         '            db.execute("ALTER TABLE item ADD COLUMN price INTEGER")\n'),
    ]),
}


def git(work: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Molecule", "GIT_AUTHOR_EMAIL": "molecule@stagecraft.invalid",
           "GIT_COMMITTER_NAME": "Molecule", "GIT_COMMITTER_EMAIL": "molecule@stagecraft.invalid"}
    return subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def main(bare: Path) -> None:
    shutil.rmtree(bare, ignore_errors=True)
    commits = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "app"
        shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns(".venv", "__pycache__", "REVISION"))
        git(work, "init", "--quiet", "--initial-branch=main")
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "-m", "Flask example")
        commits["main"] = git(work, "rev-parse", "HEAD")
        for branch, (parent, edits) in BRANCHES.items():
            git(work, "checkout", "--quiet", "-b", branch, parent)
            for name, old, new in edits:
                text = (work / name).read_text()
                if old not in text:
                    raise SystemExit(f"fixture_repo: {old!r} not in {name}; update BRANCHES to the example")
                (work / name).write_text(text.replace(old, new, 1))
            git(work, "commit", "--quiet", "--all", "-m", branch)
            commits[branch] = git(work, "rev-parse", "HEAD")
        git(work, "checkout", "--quiet", "main")
        subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True)
    print(json.dumps(commits))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
