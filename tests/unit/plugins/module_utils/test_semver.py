from __future__ import annotations

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._semver import parse_version, satisfies


@pytest.mark.parametrize("version, wanted, expected", [
    # vite 8's and vite 6's engines.node against Debian 12's, Debian 13's and newer Nodes.
    ("18.20.4", "^20.19.0 || >=22.12.0", False),
    ("20.19.2", "^20.19.0 || >=22.12.0", True),
    ("20.18.3", "^20.19.0 || >=22.12.0", False),
    ("22.11.0", "^20.19.0 || >=22.12.0", False),
    ("22.12.0", "^20.19.0 || >=22.12.0", True),
    ("24.1.0", "^20.19.0 || >=22.12.0", True),
    ("18.20.4", "^18.0.0 || ^20.0.0 || >=22.0.0", True),
    ("21.0.0", "^18.0.0 || ^20.0.0 || >=22.0.0", False),
    # ^ keeps the leftmost non-zero part.
    ("0.2.9", "^0.2.3", True), ("0.3.0", "^0.2.3", False), ("0.0.4", "^0.0.3", False), ("0.9.0", "^0.x", True),
    # ~ keeps the minor when one is given, else the major.
    ("18.2.9", "~18.2", True), ("18.3.0", "~18.2.0", False), ("18.9.0", "~18", True), ("19.0.0", "~18", False),
    # comparators, also with a space after the operator, and sets of them.
    ("20.0.0", ">= 18 <21", True), ("21.0.0", ">=18 <21", False), ("18.0.0", ">18", False), ("19.0.0", ">18", True),
    ("18.5.0", "<=18", True), ("19.0.0", "<=18", False), ("18.20.4", "=18.20.4", True), ("18.20.5", "18.20.4", False),
    # x-ranges and wildcards.
    ("20.5.1", "20.x", True), ("21.0.0", "20.x", False), ("18.2.7", "18.2.*", True), ("18.3.0", "18.2.X", False),
    ("18.20.4", "*", True), ("18.20.4", "", True), ("18.20.4", "20", False), ("v20.1.0", "20", True),
    # hyphen ranges: a partial upper end includes all it names.
    ("20.2.9", "18 - 20.2", True), ("20.3.0", "18 - 20.2", False), ("17.9.9", "18 - 20.2", False),
])
def test_satisfies(version, wanted, expected):
    assert satisfies(version, wanted) is expected


@pytest.mark.parametrize("wanted", ["node >= 18", ">=18.0.0-beta", "^^18", "latest", None])
def test_ranges_it_does_not_understand_are_refused(wanted):
    with pytest.raises(ValueError):
        satisfies("18.20.4", wanted)


def test_versions_as_node_prints_them():
    assert parse_version("v18.20.4\n") == (18, 20, 4)
    with pytest.raises(ValueError):
        parse_version("18.20")
