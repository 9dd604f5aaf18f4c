"""Runs ON the test host: the certificate a TLS server presents for a name, as JSON.

Usage: python3 peer_certificate.py NAME PORT. Connects to 127.0.0.1:PORT with NAME as SNI and no
verification (the tests verify with curl); prints subject, issuer, serial and SANs of the leaf,
or {"error": ...} when the handshake is refused.
"""

import json
import socket
import ssl
import sys

from cryptography import x509
from cryptography.x509.oid import NameOID

NAME, PORT = sys.argv[1], int(sys.argv[2])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as raw, context.wrap_socket(raw, server_hostname=NAME) as tls:
        der = tls.getpeercert(binary_form=True)
        protocol = tls.version()
except (OSError, ssl.SSLError) as error:
    print(json.dumps({"error": repr(error)}))
    sys.exit(0)
cert = x509.load_der_x509_certificate(der)


def common_name(name):
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return values[0].value if values else ""


try:
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
except x509.ExtensionNotFound:
    sans = []
print(json.dumps({
    "subject": common_name(cert.subject),
    "issuer": common_name(cert.issuer),
    "subject_o": [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)],
    "serial": format(cert.serial_number, "x"),
    "sans": sans,
    "protocol": protocol,
}))
