"""How the token reaches cloudflared (filter cloudflared_token_from_file): from a file it reads
itself (tunnel run --token-file, cloudflared 2025.4.0 and later) or, for older versions, from
TUNNEL_TOKEN in its environment, decided from what the installed executable reports, else the
pinned version, else the latest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collection by FQCN through the checkout's self-link (see module_utils/conftest.py).
COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.stagecraft.webapp.plugins.filter.cloudflared_token_from_file import FilterModule  # noqa: E402

token_from_file = FilterModule().filters()["cloudflared_token_from_file"]


@pytest.mark.parametrize("reported, pinned, expected", [
    # What the installed executable reports decides, around the first version with --token-file.
    ("cloudflared version 2025.4.0 (built 2025-04-08-1243 UTC)", "", True),
    ("cloudflared version 2025.3.1 (built 2025-03-20-0940 UTC)", "", False),
    ("cloudflared version 2025.4.1 (built 2025-04-20-0000 UTC)", "2025.3.0", True),
    ("cloudflared version 2024.12.2 (built 2024-12-19-1156 UTC)", "", False),
    ("cloudflared version 2026.8.2 (built 2026-08-20-0000 UTC)", "", True),
    ("cloudflared version 2025.10.0", "", True),
    ("cloudflared version 2025.3.0 (built 2025-03-05-0000 UTC) [stagecraft test stand-in, not cloudflared]", "", False),
    # A development build reports no release: the pinned version, else the latest.
    ("cloudflared version DEV (built unknown)", "2025.2.0", False),
    ("cloudflared version DEV (built unknown)", "", True),
    # Nothing installed yet (check mode on a new host): what will be installed.
    ("", "2025.3.0", False),
    ("", "2025.4.0", True),
    ("", "2025.4.0-1", True),
    ("", "2024.2.1", False),
    ("", "", True),
    (None, "", True),
])
def test_the_version_decides_how_the_token_reaches_cloudflared(reported, pinned, expected):
    assert token_from_file(reported, pinned) is expected
