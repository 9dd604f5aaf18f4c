# Temporary (not committed): runs the new phases from the state the chain leaves (secure-redirect serving, over SSH).
from test_deploy import *  # noqa
from test_deploy import phase, private_repository


@pytest.fixture(scope="session")
def apps_as_they_are(all_hosts):
    return phase(all_hosts, **(private_repository("ssh_host_ed25519_key.pub") | {"deploy_version": "secure-redirect"}))
