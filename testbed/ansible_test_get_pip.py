"""Stand-in for get-pip.py, which `ansible-test --venv` downloads from a host outside PyPI.

`python ansible_test_get_pip.py --seed` copies this file to the cache path ansible-test
looks in first. ansible-test then runs it inside each new sanity virtual environment with
pip's install arguments (for example `pip==24.2 --no-setuptools --no-wheel`): it installs
pip from the standard library's ensurepip and lets that pip install the pinned version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def seed() -> None:
    from ansible_test._internal.python_requirements import get_venv_packages

    version = get_venv_packages(types.SimpleNamespace(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"]
    cache = os.path.expanduser(f"~/.ansible/test/cache/get_pip_{version.replace('.', '_')}.py")
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    shutil.copyfile(__file__, cache)
    print(f"seeded {cache}")


def bootstrap(arguments: list[str]) -> None:
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    options = [argument for argument in arguments if argument not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *options])


if __name__ == "__main__":
    if sys.argv[1:] == ["--seed"]:
        seed()
    else:
        bootstrap(sys.argv[1:])
