"""Moving through a page as a keyboard user does: what has the focus, and Tab until it is there."""

from __future__ import annotations

from playwright.sync_api import Page

# The focused element described as tag#id, and a button with its words: "button:Send".
FOCUSED = """() => {
  const element = document.activeElement;
  return element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
    + (element.tagName === 'BUTTON' ? ':' + element.textContent.trim() : '');
}"""


def focused(page: Page) -> str:
    described: str = page.evaluate(FOCUSED)
    return described


def tab_to(page: Page, target: str, limit: int = 80) -> None:
    """Press Tab until the element described as `target` has focus, as a keyboard user does."""
    for _ in range(limit):
        if focused(page) == target:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} never took focus; ended on {focused(page)}")
