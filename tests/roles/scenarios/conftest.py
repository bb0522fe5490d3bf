"""Fixtures of the role scenarios: the VM run.sh booted."""

import pytest

from vmhost import VM


@pytest.fixture(scope="session")
def vm():
    host = VM()
    yield host
    host.close_ssh()  # the molecule step after this file must not inherit the connection
