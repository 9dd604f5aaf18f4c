"""README.md's recipes work as written, on the files a user has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-password-of-the-tests"


def shell_blocks(markdown: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", markdown.read_text(), re.DOTALL)


def read_vault(path: Path) -> dict[str, str]:
    """A vault.yml of `!vault` values, each decrypted with the tests' password."""
    loader = type("VaultValues", (yaml.SafeLoader,), {})
    loader.add_constructor("!vault", lambda _loader, node: node.value)
    vault = VaultLib([("default", VaultSecret(PASSWORD.encode()))])
    return {name: vault.decrypt(value).decode() for name, value in yaml.load(path.read_text(), Loader=loader).items()}


def test_the_vault_recipe_takes_a_secret_file_that_ends_with_a_line_break(tmp_path):
    """`openssl rand -hex 32 > secret_key` ends the file with a line break, which an environment
    file cannot hold: the value in the vault must not have it; the deploy key keeps its own."""
    recipe = next(block for block in shell_blocks(ROOT / "README.md") if "encrypt_string" in block)
    subprocess.run("openssl rand -hex 32 > secret_key", shell=True, cwd=tmp_path, check=True)
    (tmp_path / "deploy_key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    vault_file = tmp_path / re.search(r"> (\S+/vault\.yml)", recipe)[1]
    vault_file.parent.mkdir(parents=True)
    # As typed, but with the password from a file instead of the terminal.
    subprocess.run(recipe.replace("--ask-vault-pass", "--vault-password-file password"), shell=True, cwd=tmp_path, check=True,
                   executable="/bin/bash", capture_output=True)
    vault = read_vault(vault_file)
    assert vault["vault_secret_key"] == (tmp_path / "secret_key").read_text().rstrip("\n")
    assert re.fullmatch(r"[0-9a-f]{64}", vault["vault_secret_key"])
    assert vault["vault_deploy_key"] == (tmp_path / "deploy_key").read_text()
