import pytest

from .factory import EKU_TEST, EKU_VACCINATION, make_signer


@pytest.fixture(scope="session")
def ec_signer():
    return make_signer("ec")


@pytest.fixture(scope="session")
def other_ec_signer():
    return make_signer("ec", country="XX")


@pytest.fixture(scope="session")
def rsa_signer():
    return make_signer("rsa")


@pytest.fixture(scope="session")
def vaccination_only_signer():
    return make_signer("ec", eku=[EKU_VACCINATION])


@pytest.fixture(scope="session")
def test_only_signer():
    return make_signer("ec", eku=[EKU_TEST])
