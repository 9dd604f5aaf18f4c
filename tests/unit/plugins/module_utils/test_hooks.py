from __future__ import annotations

import os

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._hooks import Hooks, read_env_file, read_secrets


def test_env_file_as_systemd_reads_it(tmp_path):
    path = tmp_path / "env"
    path.write_text("# comment\n; also\n\nA=plain\nB=\"quoted \\\"x\\\" \\\\ \\$HOME \\`t\\`\"\nC='single $x'\nD = spaced \n")
    assert read_env_file(str(path)) == {"A": "plain", "B": 'quoted "x" \\ $HOME `t`', "C": "single $x", "D": "spaced"}
    assert read_env_file(None) == {}


def test_secrets_are_the_values_the_file_names_as_secrets(tmp_path):
    path = tmp_path / "env"
    path.write_text('APP_ENV="production"\n# stagecraft-secrets: API_KEY DATABASE_URL\nAPI_KEY="k3y \\$x"\nDATABASE_URL="postgresql://a:b@c/d"\n')
    assert read_secrets(str(path)) == {"API_KEY": "k3y $x", "DATABASE_URL": "postgresql://a:b@c/d"}
    # No file, no secrets: no command can be given its values.
    assert read_secrets(str(tmp_path / "missing")) == {} and read_secrets(None) == {}


def test_unreadable_env_file_is_named(tmp_path):
    with pytest.raises(DeployError, match="cannot read the environment file .*missing"):
        read_env_file(str(tmp_path / "missing"))


def test_unknown_user_is_named():
    with pytest.raises(DeployError, match="user no-such-user-here does not exist"):
        Hooks(user="no-such-user-here")


def test_another_user_runs_through_setpriv(tmp_path):
    hooks = Hooks(user="nobody")
    assert hooks._argv(["pip", "install"])[:3] == ["setpriv", "--reuid", "nobody"]
    assert hooks._argv(["pip", "install"])[-3:] == ["--", "pip", "install"]


def test_write_file_is_atomic_and_owned(tmp_path):
    Hooks().write_file(str(tmp_path / "f"), "x\n", mode=0o640)
    assert (tmp_path / "f").read_text() == "x\n" and oct((tmp_path / "f").stat().st_mode & 0o777) == "0o640"
    assert [path.name for path in tmp_path.iterdir()] == ["f"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run a command as another user")
def test_runs_as_the_app_user_with_its_own_home(tmp_path):
    dummy, out, dummy = Hooks(user="nobody", home=str(tmp_path)).run_as_user(["sh", "-c", "id -un; echo $HOME"], step="whoami")
    assert out.split() == ["nobody", str(tmp_path)]


def test_commands_create_files_as_the_service_does_and_get_their_text_untouched(tmp_path):
    # A migration hook that creates the SQLite database left it 0644 (the module's umask 0022)
    # where the service would have made it 0640.
    before = os.umask(0o022)
    try:
        dummy, out, dummy = Hooks().shell('touch app.db && mkdir data && printf "%s|" "$0" \'$HOME ~\'', step="hook", release_path=str(tmp_path))
    finally:
        os.umask(before)
    assert oct((tmp_path / "app.db").stat().st_mode & 0o777) == "0o640"
    assert oct((tmp_path / "data").stat().st_mode & 0o777) == "0o750"
    assert out == "/bin/sh|$HOME ~|"


def test_the_builds_hooks_make_files_nginx_can_read(tmp_path):
    # collectstatic (after_build) fills the release's static directory, which nginx serves.
    before = os.umask(0o077)
    try:
        Hooks(hooks={"after_build": ["mkdir static && touch static/app.css"]}).run("after_build", str(tmp_path))
        Hooks(hooks={"before_switch": ["touch app.db"]}).run("before_switch", str(tmp_path))
    finally:
        os.umask(before)
    assert oct((tmp_path / "static" / "app.css").stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / "static").stat().st_mode & 0o777) == "0o755"
    assert oct((tmp_path / "app.db").stat().st_mode & 0o777) == "0o640"
