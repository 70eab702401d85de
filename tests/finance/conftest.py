"""Fixtures shared by the finance tests."""

import pytest
from django.utils import translation


@pytest.fixture
def english():
    """The messages asserted on are the English source texts. Not autouse: a module asks for
    it with ``pytestmark = pytest.mark.usefixtures("english")``."""
    with translation.override("en"):
        yield
