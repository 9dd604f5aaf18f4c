"""What differs from the wanted state (plugins/module_utils/_drift.py and the drift module).

Real things only: files and directories in a temporary folder owned by the user running the tests,
this machine's dpkg database and account databases, and the module itself run by `ansible` on
localhost. systemd runs only in the molecule scenarios' hosts (there the roles' idempotence runs
prove the services read); here, a machine without a running systemd makes every service differ.
"""

from __future__ import annotations

import datetime
import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError
from ansible_collections.stagecraft.webapp.plugins.module_utils._drift import drift

ME = pwd.getpwuid(os.getuid())
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
CONTENT = b"server_tokens off;\n"


@pytest.fixture
def tree(tmp_path):
    """A directory (0750) holding a file (0640) with CONTENT and a symlink to the directory."""
    folder = tmp_path / "conf"
    folder.mkdir()
    folder.chmod(0o750)
    (folder / "nginx.conf").write_bytes(CONTENT)
    (folder / "nginx.conf").chmod(0o640)
    (tmp_path / "link").symlink_to(folder)
    return tmp_path


def wanted_dir(path, **fields):
    return dict({"path": str(path), "state": "directory", "owner": ME.pw_name, "group": MY_GROUP, "mode": "0750"}, **fields)


def wanted_file(path, **fields):
    return dict({"path": str(path), "state": "file", "owner": ME.pw_name, "group": MY_GROUP, "mode": "0640",
                 "checksum": hashlib.sha1(CONTENT).hexdigest()}, **fields)


def differing_paths(*paths):
    return drift(paths=list(paths))["differ"]["paths"]


def test_paths_as_wanted_do_not_differ(tree):
    assert differing_paths(wanted_dir(tree / "conf"), wanted_file(tree / "conf" / "nginx.conf"),
                           {"path": str(tree / "gone"), "state": "absent"}) == []


@pytest.mark.parametrize("field, value", [
    ("mode", "0755"), ("mode", "750"), ("owner", "nobody-stagecraft-4f1c"), ("group", "nogroup-stagecraft-4f1c"),
])
def test_a_directory_with_another_mode_owner_or_group_differs(tree, field, value):
    differs = differing_paths(wanted_dir(tree / "conf", **{field: value}))
    # "750" is the same mode as "0750".
    assert differs == ([] if value == "750" else [str(tree / "conf")])


def test_a_file_with_other_content_differs_and_its_checksum_is_of_the_bytes(tree):
    assert differing_paths(wanted_file(tree / "conf" / "nginx.conf", checksum=hashlib.sha1(b"other\n").hexdigest())) == [
        str(tree / "conf" / "nginx.conf")]
    assert differing_paths(wanted_file(tree / "conf" / "nginx.conf", checksum=hashlib.sha1(CONTENT).hexdigest().upper())) == []


def test_what_is_not_there_or_not_of_the_kind_wanted_differs(tree):
    missing, file_as_dir, dir_as_file = tree / "missing", tree / "conf" / "nginx.conf", tree / "conf"
    assert differing_paths(wanted_dir(missing), wanted_dir(file_as_dir), wanted_file(dir_as_file, checksum=None),
                           {"path": str(file_as_dir), "state": "absent"}) == [str(missing), str(file_as_dir), str(dir_as_file), str(file_as_dir)]


def test_a_symlink_is_read_itself_not_followed(tree):
    assert differing_paths(wanted_dir(tree / "link")) == [str(tree / "link")]


def test_fields_left_null_are_not_compared(tree):
    assert differing_paths({"path": str(tree / "conf" / "nginx.conf"), "state": "file", "owner": None, "group": None, "mode": None,
                            "checksum": None}) == []


def test_a_path_that_cannot_be_read_differs(tree):
    # lstat fails with "Not a directory", not "No such file": even absent is not shown.
    below_a_file = tree / "conf" / "nginx.conf" / "child"
    assert differing_paths(wanted_dir(below_a_file), {"path": str(below_a_file), "state": "absent"}) == [str(below_a_file)] * 2


@pytest.mark.parametrize("paths", [
    [{"path": "/etc", "state": "directory", "mode": "u=rwx"}],
    [{"path": "/etc", "state": "directory", "mode": "07555"}],
    [{"path": "/etc", "state": "link"}],
])
def test_bad_input_is_refused_before_anything_is_read(paths):
    with pytest.raises(DeployError, match="octal mode|not one of"):
        drift(paths=paths)


def test_packages_from_this_machines_dpkg_database():
    if not shutil.which("dpkg-query"):
        pytest.skip("not a Debian machine")
    result = drift(packages=["dpkg", "stagecraft-no-such-package-4f1c"])
    assert result["differ"]["packages"] == ["stagecraft-no-such-package-4f1c"]
    version = subprocess.run(["dpkg-query", "--show", "--showformat=${Version}", "dpkg"], capture_output=True, text=True, check=True).stdout
    assert result["versions"] == {"dpkg": version}


def test_without_dpkg_query_every_package_differs():
    result = drift(packages=["dpkg"], which=lambda name: None)
    assert (result["differ"]["packages"], result["versions"]) == (["dpkg"], {})


def test_services_differ_where_systemd_cannot_be_asked():
    running = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True, check=False).stdout.strip() \
        if shutil.which("systemctl") else "none"
    if running not in ("offline", "none"):
        pytest.skip("systemd runs here: the molecule scenarios read real services")
    services = [{"name": "nginx.service", "enabled": True, "active": True}, {"name": "ssh.service", "enabled": None, "active": None}]
    assert drift(services=services)["differ"]["services"] == ["nginx.service", "ssh.service"]


def test_accounts_from_this_machines_databases():
    supplementary = sorted(group.gr_name for group in grp.getgrall() if ME.pw_name in group.gr_mem)
    me = {"name": ME.pw_name, "group": MY_GROUP, "groups": supplementary, "home": ME.pw_dir, "shell": ME.pw_shell, "comment": ME.pw_gecos}
    others = [
        dict(me, name="stagecraft-no-such-user-4f1c"),
        dict(me, shell="/bin/stagecraft-4f1c"),
        dict(me, home="/stagecraft-4f1c"),
        dict(me, comment="stagecraft 4f1c"),
        dict(me, group="stagecraft-no-such-group-4f1c"),
        dict(me, groups=supplementary + ["stagecraft-no-such-group-4f1c"]),
    ]
    for other in others:
        assert drift(users=[other])["differ"]["users"] == [other["name"]], other
    assert drift(users=[me, {"name": ME.pw_name}])["differ"]["users"] == []
    assert drift(groups=[{"name": MY_GROUP}, {"name": "stagecraft-no-such-group-4f1c"}])["differ"]["groups"] == ["stagecraft-no-such-group-4f1c"]


# --- Certificates: made here with the cryptography library, as community.crypto makes them on the hosts ---

NAMES = ("shop.test", "www.shop.test")
P256 = {"type": "ECC", "curve": "secp256r1", "size": None}


def private_key(kind="ecdsa"):
    return ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa" else rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_pair(folder, key, names=NAMES, common_name=None, signer=None):
    """A self-signed certificate of `key` (or one signed by `signer` with `key`'s public half) and the key, as PEM files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or names[0])])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2)))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
    certificate = builder.sign(signer or key, hashes.SHA256())
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    return {"path": str(folder / "fullchain.pem"), "key": str(folder / "privkey.pem"), "names": list(NAMES), **P256}


def certificates_differ(*wanted):
    return drift(certificates=list(wanted))["differ"]["certificates"]


def test_a_certificate_of_its_key_for_the_names_with_the_key_type_wanted_does_not_differ(tmp_path):
    assert certificates_differ(write_pair(tmp_path, private_key())) == []


def test_rsa_keys_are_compared_by_size(tmp_path):
    wanted = write_pair(tmp_path, private_key("rsa"))
    assert certificates_differ(dict(wanted, type="RSA", curve=None, size=2048)) == []
    assert certificates_differ(dict(wanted, type="RSA", curve=None, size=3072)) == [wanted["path"]]
    assert certificates_differ(wanted) == [wanted["path"]], "an RSA key where ECC is wanted"


@pytest.mark.parametrize("case", ["other names", "names in another order", "other common name", "no alternative names", "another key's certificate",
                                  "another curve"])
def test_a_certificate_for_other_names_or_of_another_key_differs(tmp_path, case):
    key = private_key()
    wanted = {
        "other names": lambda: write_pair(tmp_path, key, names=["other.test"]),
        "names in another order": lambda: write_pair(tmp_path, key, names=NAMES[::-1], common_name=NAMES[0]),
        "other common name": lambda: write_pair(tmp_path, key, common_name="other.test"),
        "no alternative names": lambda: write_pair(tmp_path, key, names=[], common_name=NAMES[0]),
        # A certificate signed for another key, with this key written beside it.
        "another key's certificate": lambda: dict(write_pair(tmp_path, private_key()), key=write_other_key(tmp_path, key)),
        "another curve": lambda: write_pair(tmp_path, ec.generate_private_key(ec.SECP384R1())),
    }[case]()
    assert certificates_differ(wanted) == [wanted["path"]]


def write_other_key(folder, key):
    path = folder / "other-key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(path)


def test_a_certificate_or_key_missing_or_not_pem_differs(tmp_path):
    wanted = write_pair(tmp_path, private_key())
    (tmp_path / "privkey.pem").write_text("not a key\n")
    assert certificates_differ(wanted, dict(wanted, path=str(tmp_path / "missing.pem"))) == [wanted["path"], str(tmp_path / "missing.pem")]


def test_the_module_in_check_mode(tree, module_on_localhost):
    args = {
        "paths": [wanted_dir(tree / "conf"), wanted_file(tree / "conf" / "nginx.conf", mode="0600")],
        "groups": [{"name": MY_GROUP}],
        "certificates": [dict(write_pair(tree, private_key()), names=["other.test"])],
    }
    completed = module_on_localhost("stagecraft.webapp.drift", json.dumps(args), "--check", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                                    ANSIBLE_STDOUT_CALLBACK="json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] is False
    assert result["differ"] == {"paths": [str(tree / "conf" / "nginx.conf")], "packages": [], "services": [], "users": [], "groups": [],
                                "certificates": [str(tree / "fullchain.pem")]}
    assert "BEGIN" not in completed.stdout, "nothing of a key or certificate is returned"


def test_the_module_refuses_a_symbolic_mode(tree, module_on_localhost):
    completed = module_on_localhost("stagecraft.webapp.drift", json.dumps({"paths": [wanted_dir(tree / "conf", mode="u=rwx")]}))
    assert completed.returncode != 0 and "is not an octal mode such as 0644" in completed.stdout, completed.stdout


def module_result(module_on_localhost, module, args):
    completed = module_on_localhost(module, json.dumps(args), ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_a_listing_finds_what_ansible_builtin_find_finds(tmp_path, module_on_localhost):
    """The systemd role's one read lists its unit directory as its find task did: the same entries and fields."""
    units = tmp_path / "system"
    (units / "shop.service.d").mkdir(parents=True)
    (units / "shop.service.d").chmod(0o755)
    (units / "shop.service").write_text("[Service]\n")
    (units / "shop.service.d" / "10-limits.conf").write_text("[Service]\nLimitNOFILE=4096\n")
    (units / "shop.service.d" / "left-by-hand.conf").write_text("")
    (units / "shop.service.d" / ".hidden.conf").write_text("")
    (units / "other.service").write_text("")
    (units / "multi-user.target.wants").mkdir()
    (units / "multi-user.target.wants" / "shop.service").symlink_to(units / "shop.service")
    (units / "deeper.d" / "shop.service.d").mkdir(parents=True)
    (units / "deeper.d" / "shop.service.d" / "too-deep.conf").write_text("")
    patterns = ["shop.service", "shop.service.d", "*.conf"]
    found = module_result(module_on_localhost, "ansible.builtin.find", {
        "paths": [str(units)], "recurse": True, "depth": 2, "file_type": "any", "follow": False, "patterns": patterns, "get_checksum": True})
    listed = module_result(module_on_localhost, "stagecraft.webapp.drift", {"listings": [{"path": str(units), "patterns": patterns, "depth": 2}]})
    fields = ("path", "isreg", "isdir", "islnk", "mode", "uid", "gid", "checksum")
    assert [{field: entry.get(field) for field in fields} for entry in sorted(found["files"], key=lambda entry: entry["path"])] == [
        {field: entry.get(field) for field in fields} for entry in listed["listed"]]
    assert [entry["path"][len(str(units)):] for entry in listed["listed"]] == [
        "/deeper.d/shop.service.d", "/multi-user.target.wants/shop.service", "/shop.service", "/shop.service.d", "/shop.service.d/10-limits.conf",
        "/shop.service.d/left-by-hand.conf"]
    assert drift(listings=[{"path": str(tmp_path / "missing"), "patterns": ["*"], "depth": 2}])["listed"] == []
