"""axe-core's WCAG 2.1 A/AA rules on every main page, in every language, at every width.

axe is injected into the page, so these tabs bypass the page's Content-Security-Policy
(test_screenshots.py checks the pages under it). Serious and critical violations fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import MainPage, axe_violations, cases, describe_violations

pytestmark = pytest.mark.slow

BLOCKING = ("serious", "critical")


@pytest.mark.parametrize(("main", "lang", "width"), cases())
def test_no_serious_accessibility_violations(
    visit: Any, main: MainPage, lang: str, width: int
) -> None:
    tab = visit(lang, width, bypass_csp=True, user=main.user)
    tab.goto(main.path, main.status)
    assert tab.html_lang() == lang

    violations = axe_violations(tab.page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, (
        f"{main.path} ({lang}, {width} px) has serious accessibility violations:\n"
        + describe_violations(blocking)
    )
    assert tab.foreign_requests() == [], "the page fetched something from another host"
