# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which of the wanted paths, packages, services, accounts and certificates differ from this host, read in one go;
and what some directories hold, where a role must find files it does not know the names of.

The roles ask before their ansible.builtin tasks and run those only for what differs: over SSH
every task is a round trip, and most runs change nothing. Whatever cannot be read (a program
missing, a file unreadable, a name unknown) counts as differing, so the real task runs and decides;
a wanted state matches only when the host shows it.
"""

from __future__ import annotations

import fnmatch
import grp
import hashlib
import os
import pwd
import shutil
import stat

from ansible_collections.stagecraft.webapp.plugins.module_utils._commands import subprocess_run_command, systemctl_show
from ansible_collections.stagecraft.webapp.plugins.module_utils._errors import DeployError

PATH_STATES = ("directory", "file", "absent")
_READ_CHUNK = 1 << 16


def _name_of(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return None


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_READ_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mode_bits(mode):
    """An octal mode string ("0644", "750") as an int; anything else is a DeployError."""
    text = str(mode)
    if not text or any(digit not in "01234567" for digit in text) or len(text) > 4:
        raise DeployError("mode {0!r} is not an octal mode such as 0644".format(mode))
    return int(text, 8)


def path_differs(wanted):
    """Whether the path of `wanted` (path, state, owner, group, mode, checksum; None is not compared) differs.

    The path itself is read, never a symlink's target: a symlink where a directory or file is
    wanted differs.
    """
    path = wanted["path"]
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return wanted["state"] != "absent"
    except OSError:
        return True
    if wanted["state"] == "absent":
        return True
    kind = stat.S_ISDIR if wanted["state"] == "directory" else stat.S_ISREG
    if not kind(found.st_mode):
        return True
    if wanted.get("owner") is not None and _name_of(pwd.getpwuid, found.st_uid) != wanted["owner"]:
        return True
    if wanted.get("group") is not None and _name_of(grp.getgrgid, found.st_gid) != wanted["group"]:
        return True
    if wanted.get("mode") is not None and stat.S_IMODE(found.st_mode) != mode_bits(wanted["mode"]):
        return True
    if wanted.get("checksum"):
        try:
            return _sha1(path) != wanted["checksum"].lower()
        except OSError:
            return True
    return False


def listing(path, patterns, depth):
    """The entries below directory `path`, at most `depth` levels down (1: its own entries), whose name matches one
    of the shell `patterns`, as ansible.builtin.find returns them without following links or showing hidden names:
    path, isreg, isdir, islnk, mode ("0644"), uid, gid, and the SHA-1 checksum of regular files, sorted by path. A
    directory that does not exist lists nothing."""
    found = []
    for entry in _entries(path, depth):
        if not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns):
            continue
        info = entry.stat(follow_symlinks=False)
        item = {"path": entry.path, "isreg": stat.S_ISREG(info.st_mode), "isdir": stat.S_ISDIR(info.st_mode),
                "islnk": stat.S_ISLNK(info.st_mode), "mode": "{0:04o}".format(stat.S_IMODE(info.st_mode)),
                "uid": info.st_uid, "gid": info.st_gid}
        if item["isreg"]:
            try:
                item["checksum"] = _sha1(entry.path)
            except OSError:
                item["checksum"] = None
        found.append(item)
    return sorted(found, key=lambda item: item["path"])


def _entries(path, depth):
    """The entries of directory `path` not hidden, and, while `depth` allows, of its directories (links not followed)."""
    try:
        with os.scandir(path) as entries:
            visible = [entry for entry in entries if not entry.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in visible:
        yield entry
        if depth > 1 and entry.is_dir(follow_symlinks=False):
            yield from _entries(entry.path, depth - 1)


def _general_names(certificate, x509):
    """The certificate's subject alternative names as ("DNS", name) or ("other", text) pairs, in order; [] without any."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [("DNS", name.value) if isinstance(name, x509.DNSName) else ("other", str(name)) for name in extension.value]


def certificate_differs(wanted):
    """Whether the certificate at `wanted["path"]` is other than one of the private key at `wanted["key"]` for
    `wanted["names"]` (the common name the first, the DNS names all of them, in order), that key of `wanted["type"]`
    (ECC or RSA, as community.crypto names them) with `curve` and `size` (None is not compared).

    Only the public halves are compared; nothing of the key is returned. A file missing or unreadable, or no
    cryptography library on the host, differs.
    """
    # Imported here: the library is only needed, and only present, where a role asks about certificates.
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        return True
    try:
        with open(wanted["path"], "rb") as handle:
            certificate = x509.load_pem_x509_certificate(handle.read())
        with open(wanted["key"], "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError, TypeError):
        return True
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(serialization.Encoding.DER, public) != key.public_key().public_bytes(serialization.Encoding.DER, public):
        return True
    common_names = [attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    names = list(wanted["names"])
    if not names or common_names != names[:1] or _general_names(certificate, x509) != [("DNS", name) for name in names]:
        return True
    if isinstance(key, ec.EllipticCurvePrivateKey):
        found = {"type": "ECC", "curve": key.curve.name, "size": key.curve.key_size}
    elif isinstance(key, rsa.RSAPrivateKey):
        found = {"type": "RSA", "curve": None, "size": key.key_size}
    else:
        return True
    return any(wanted.get(field) is not None and found[field] != wanted[field] for field in ("type", "curve", "size"))


def installed_packages(names, run_command, which):
    """{name: version} of the Debian packages among `names` that are installed ("ii")."""
    dpkg_query = which("dpkg-query")
    if not names or not dpkg_query:
        return {}
    # dpkg-query exits 1 when a name is unknown, and still lists the others.
    unused_rc, out, unused_err = run_command([dpkg_query, "--show", "--showformat=${db:Status-Abbrev}\t${Package}\t${Version}\n", "--"] + list(names))
    versions = {}
    for line in (out or "").splitlines():
        status, unused_tab, rest = line.partition("\t")
        name, unused_tab, version = rest.partition("\t")
        if status.strip() == "ii" and name in names:
            versions[name] = version
    return versions


def services_differ(services, run_command, which):
    """Names of the `services` (name, enabled, active; None is not compared) whose systemd state differs."""
    systemctl = which("systemctl")
    if not services:
        return []
    names = [service["name"] for service in services]
    if not systemctl:
        return names
    unused_rc, units, unused_err = systemctl_show(systemctl, names, ["UnitFileState", "ActiveState"], run_command)
    if len(units) != len(names):
        return names
    differ = []
    for service, properties in zip(services, units):
        wanted = {
            "UnitFileState": {True: "enabled", False: "disabled", None: None}[service.get("enabled")],
            "ActiveState": {True: "active", False: "inactive", None: None}[service.get("active")],
        }
        if any(value is not None and properties.get(key) != value for key, value in wanted.items()):
            differ.append(service["name"])
    return differ


def group_differs(wanted):
    """Whether the group `wanted["name"]` is missing."""
    try:
        grp.getgrnam(wanted["name"])
    except KeyError:
        return True
    return False


def user_differs(wanted):
    """Whether the user `wanted["name"]` is missing or has another primary group, supplementary groups, home, shell or comment."""
    try:
        entry = pwd.getpwnam(wanted["name"])
    except KeyError:
        return True
    if wanted.get("group") is not None and _name_of(grp.getgrgid, entry.pw_gid) != wanted["group"]:
        return True
    for field, attribute in (("home", "pw_dir"), ("shell", "pw_shell"), ("comment", "pw_gecos")):
        if wanted.get(field) is not None and getattr(entry, attribute) != wanted[field]:
            return True
    if wanted.get("groups") is not None:
        member_of = {group.gr_name for group in grp.getgrall() if wanted["name"] in group.gr_mem}
        if member_of != set(wanted["groups"]):
            return True
    return False


def drift(paths=(), packages=(), services=(), users=(), groups=(), certificates=(), listings=(), run_command=None, which=None):
    """What differs: {"differ": {"paths", "packages", "services", "users", "groups", "certificates"}, "versions": {package: version},
    "listed": the entries of the `listings` ({path, patterns, depth}: listing()), in the order asked}.

    Each list under "differ" names what differs (paths, package names, unit names, user and group
    names, certificate paths), in the order asked. `run_command` and `which` are as in _commands.py and
    AnsibleModule.get_bin_path; by default subprocess and PATH.
    """
    run_command = run_command or subprocess_run_command
    which = which or shutil.which
    for wanted in paths:
        if wanted.get("state", "file") not in PATH_STATES:
            raise DeployError("state {0!r} of {1} is not one of {2}".format(wanted["state"], wanted["path"], ", ".join(PATH_STATES)))
        if wanted.get("mode") is not None:
            mode_bits(wanted["mode"])
    versions = installed_packages(list(packages), run_command, which)
    return {
        "differ": {
            "paths": [wanted["path"] for wanted in paths if path_differs(dict({"state": "file"}, **wanted))],
            "packages": [name for name in packages if name not in versions],
            "services": services_differ(list(services), run_command, which),
            "users": [wanted["name"] for wanted in users if user_differs(wanted)],
            "groups": [wanted["name"] for wanted in groups if group_differs(wanted)],
            "certificates": [wanted["path"] for wanted in certificates if certificate_differs(wanted)],
        },
        "versions": versions,
        "listed": [entry for wanted in listings for entry in listing(wanted["path"], wanted["patterns"], wanted["depth"])],
    }
