"""Fixtures of the role scenarios: the VM run.sh booted."""

import pytest

from vmhost import VM


@pytest.fixture(scope="session")
def vm():
    return VM()
