"""Try one TCP connection to each ADDRESS:PORT given on the command line, all at once, and print
a JSON object of ADDRESS:PORT to "open" (connected), "refused" (the host answered, nothing
listens) or "filtered" (no answer within the timeout: dropped by a firewall). Run on a test host
against the other one; one attempt per port, so SSH's rate limit is not reached."""

import concurrent.futures
import json
import socket
import sys

TIMEOUT = 3


def probe(target: str) -> str:
    address, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((address, int(port)), timeout=TIMEOUT):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "filtered"
    except OSError as error:
        return f"error: {error}"


with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    print(json.dumps(dict(zip(sys.argv[1:], pool.map(probe, sys.argv[1:])))))
