"""Issue 10, point 11: the Content-Security-Policy header is sent and the pages live with it.

Every browser test fails on a CSP violation reported in the console (tests/e2e/conftest.py,
``new_context``); the journeys of registration, requests, voice comments and statistics run
under it. This file checks the header in a real browser and that the watch does catch one.
"""

import pytest

from tests.e2e.helpers import SIGNUP

pytestmark = pytest.mark.e2e

PUBLIC_PAGES = ["/", SIGNUP, "/accounts/login/", "/guide/", "/accounts/password/reset/"]


def test_pages_carry_the_policy_and_raise_no_violation(live_url, new_context):
    page = new_context().new_page()
    for path in PUBLIC_PAGES:
        response = page.goto(live_url + path)
        assert response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        # the stylesheet applied (a blocked stylesheet would leave the page unstyled)
        assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display")
        # the live socket is allowed by connect-src (signed-out pages do not open one)


def test_the_watch_catches_a_violation(live_url, new_context):
    context = new_context()
    page = context.new_page()
    page.goto(live_url + "/")
    page.evaluate(
        """() => { const s = document.createElement('script');
        s.textContent = 'window.injected = 1'; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.injected") is None  # the inline script did not run
    caught = list(new_context.csp_violations)
    new_context.csp_violations.clear()  # expected here: do not fail this test for it
    assert caught and "script-src" in caught[0]
