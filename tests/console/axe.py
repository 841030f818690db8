"""axe-core in the browser: a page has no WCAG 2.2 A or AA violation."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
    )


def assert_accessible(page: Page, *must_run: str) -> None:
    """axe finds no WCAG 2.2 A or AA violation on the page as it stands.

    A run that checked nothing would pass too, so the rules this page needs must be seen to
    have run: those every page has, `label` and `select-name` where there are form fields,
    `valid-lang` where something is marked with its language (what people wrote), `link-name`
    where there is a link, and `must_run`.
    """
    options = {"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options).response
    needed = {"color-contrast", "html-lang-valid", "document-title", *must_run}
    if page.locator("input:not([type=hidden],[type=submit],[type=button]), textarea").count():
        needed.add("label")
    if page.locator("select").count():
        needed.add("select-name")
    if page.locator("body [lang]").count():
        needed.add("valid-lang")
    if page.locator("a[href]").count():
        needed.add("link-name")
    ran = {rule["id"] for rule in results["passes"]}
    assert needed <= ran, f"axe did not run {sorted(needed - ran)} on {page.url}"
    violations = [v for v in results["violations"] if set(v["tags"]) & set(WCAG_A_AA)]
    assert violations == [], describe(violations)
