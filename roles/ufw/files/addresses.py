"""Describe the addresses and networks the role's variables name, for its preflight.

Run by tasks/preflight.yml as `python3 -c <this file> ADDRESSES_JSON [CLIENT]`: prints a JSON
object mapping each address or network to its canonical form as ufw writes it in its rules
files (a network without host bits, a single address without /32 or /128, IPv6 lowercased and
compressed), its family and whether it contains CLIENT (the address Ansible connects from);
anything that is not an address or network maps to an error message instead. "any" stays "any".
Jinja has no address arithmetic; Python's ipaddress does what ufw does.
"""

import ipaddress
import json
import sys


def describe(text, client):
    if text == "any":
        return {"canonical": "any", "family": "any", "world": True, "contains_client": True}
    try:
        network = ipaddress.ip_network(str(text), strict=True)
    except ValueError as error:
        return {"error": str(error)}
    single = network.prefixlen == network.max_prefixlen
    return {
        "canonical": str(network.network_address) if single else str(network),
        "family": "ipv%d" % network.version,
        "world": network.prefixlen == 0,
        "contains_client": client is not None and client.version == network.version and client in network,
    }


def client_address(text):
    """The client's address, an IPv4-mapped IPv6 one as IPv4; None when unknown."""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def main():
    addresses = json.loads(sys.argv[1])
    client = client_address(sys.argv[2]) if len(sys.argv) > 2 else None
    json.dump({str(text): describe(text, client) for text in addresses}, sys.stdout)


main()
