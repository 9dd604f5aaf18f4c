# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""npm's version ranges (node-semver), as far as `engines.node` uses them: does a Node version satisfy one?

A range is sets joined by `||`; a set is comparators that must all hold, separated by spaces:
`>=20.19.0`, `<23`, `=18.1.0`, `^20.19.0`, `~18.2`, x-ranges (`20.x`, `18.2.*`, `*`, `20`) and hyphen
ranges (`18 - 20.2`). Versions are release versions: a Node on a host has no prerelease tag, so
prerelease tags in a range are refused rather than half understood. Runs on the host (module_utils):
pure Python, nothing to install.
"""

from __future__ import annotations

import re

WILDCARDS = ("x", "X", "*")
COMPARATOR = re.compile(r"^(<=|>=|<|>|=|\^|~>?)?\s*v?([0-9xX*]+(?:\.[0-9xX*]+){0,2})$")
HYPHEN = re.compile(r"^\s*v?(\S+)\s+-\s+v?(\S+)\s*$")
OPERATOR_SPACE = re.compile(r"(<=|>=|<|>|=|\^|~>?)\s+")


def parse_version(text):
    """(major, minor, patch) of `18.20.4` or `v18.20.4`; ValueError for anything else."""
    match = re.match(r"^\s*v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?\s*$", text or "")
    if not match:
        raise ValueError("not a version: {0!r}".format(text))
    return tuple(int(part) for part in match.groups())


def _partial(text):
    """The numbers given before the first wildcard: `20.x` -> [20], `*` -> []."""
    numbers = []
    for part in text.split("."):
        if part in WILDCARDS:
            break
        numbers.append(int(part))
    return numbers


def _lowest(numbers):
    return tuple(numbers + [0] * (3 - len(numbers)))


def _next_after(numbers):
    """The first version above everything `numbers` (a partial version) matches: [20] -> (21, 0, 0)."""
    bumped = numbers[:-1] + [numbers[-1] + 1]
    return _lowest(bumped)


def _bounds(operator, numbers):
    """The comparator as a list of (operator, version) bounds that must all hold."""
    if not numbers:
        return [] if operator in ("", "=", ">=", "<=", "^", "~", "~>") else [("<", (0, 0, 0))]
    low = _lowest(numbers)
    exact = len(numbers) == 3
    if operator in ("", "="):
        return [("=", low)] if exact else [(">=", low), ("<", _next_after(numbers))]
    if operator == ">=":
        return [(">=", low)]
    if operator == ">":
        return [(">", low)] if exact else [(">=", _next_after(numbers))]
    if operator == "<":
        return [("<", low)]
    if operator == "<=":
        return [("<=", low)] if exact else [("<", _next_after(numbers))]
    if operator in ("~", "~>"):
        return [(">=", low), ("<", _next_after(numbers[:2]))]
    # ^: the leftmost non-zero part given may not change.
    significant = next((index for index, number in enumerate(numbers) if number != 0), len(numbers) - 1)
    return [(">=", low), ("<", _next_after(numbers[:significant + 1]))]


def _set_bounds(text):
    hyphen = HYPHEN.match(text)
    if hyphen:
        low, high = (_checked(part) for part in hyphen.groups())
        return [(">=", _lowest(low))] + (_bounds("<=", high) if high else [])
    bounds = []
    for word in OPERATOR_SPACE.sub(r"\1", text).split():
        match = COMPARATOR.match(word)
        if not match:
            raise ValueError("not a version range: {0!r}".format(text))
        bounds.extend(_bounds(match.group(1) or "", _checked(match.group(2))))
    return bounds


def _checked(text):
    if not re.match(r"^[0-9xX*]+(\.[0-9xX*]+){0,2}$", text):
        raise ValueError("not a version: {0!r}".format(text))
    return _partial(text)


def _holds(version, bound):
    operator, limit = bound
    return {"=": version == limit, ">=": version >= limit, ">": version > limit, "<": version < limit, "<=": version <= limit}[operator]


def parse_range(text):
    """The range as a list of sets of bounds; ValueError when it is not one this module understands."""
    if not isinstance(text, str):
        raise ValueError("not a version range: {0!r}".format(text))
    return [_set_bounds(part.strip()) for part in text.split("||")]


def satisfies(version, text):
    """Whether `version` (a string or a tuple) is in the range `text`."""
    if isinstance(version, str):
        version = parse_version(version)
    return any(all(_holds(version, bound) for bound in bounds) for bounds in parse_range(text))
