"""Describe the addresses and networks the role's variables name, for its preflight.

Run by tasks/preflight.yml as `python3 -c <this file> ADDRESSES_JSON`: prints a JSON object
mapping each address or network to its canonical form as ufw writes it in its rules files (a
network without host bits, a single address without /32 or /128, IPv6 lowercased and
compressed) and its family; anything that is not an address or network maps to an error
message instead. "any" stays "any". Jinja has no address arithmetic; Python's ipaddress does
what ufw does.
"""

import ipaddress
import json
import sys


def describe(text):
    if text == "any":
        return {"canonical": "any", "family": "any", "world": True}
    try:
        network = ipaddress.ip_network(str(text), strict=True)
    except ValueError as error:
        return {"error": str(error)}
    single = network.prefixlen == network.max_prefixlen
    return {
        "canonical": str(network.network_address) if single else str(network),
        "family": "ipv%d" % network.version,
        "world": network.prefixlen == 0,
    }


def main():
    addresses = json.loads(sys.argv[1])
    json.dump({str(text): describe(text) for text in addresses}, sys.stdout)


main()
