"""Helpers for the tests that open pages in a real headless Chromium (test_render, test_site).

They drive the system Chromium that ``evalkit.render.find_chromium()`` finds (Debian's ``chromium``;
``make test`` installs it) through playwright; a missing browser fails the tests, never skips them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from evalkit.render import find_chromium

ROOT = Path(__file__).resolve().parents[1]
#: Screenshots of the pages under test, to look at (reports/ is ignored by git).
SCREENSHOTS = ROOT / "reports" / "test-screenshots"
#: The font every report and index page embeds, by its PostScript name.
EMBEDDED_FONT = "NotoSansCJKsc-Regular"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def browser():
    """A headless Chromium; fails (does not skip) when none is installed."""
    executable = find_chromium()
    assert executable, "these tests need Chromium: apt-get install chromium (make test installs it)"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable,
                                      args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield launched
        launched.close()


def open_page(browser, path: Path, **context):
    """The page at ``path`` (fonts loaded) and the list where every console error or warning, page error,
    failed request and request outside the file system is recorded, from now on."""
    page = browser.new_context(**context).new_page()
    problems: list[str] = []
    watch(page, problems)
    page.goto(path.as_uri(), wait_until="load")
    wait_for_fonts(page)
    return page, problems


def watch(page, problems: list[str]) -> None:
    """Record in ``problems`` what a self-contained page must never do."""
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("request", lambda r: problems.append(f"request: {r.url}")
            if not r.url.startswith(("file:", "data:")) else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))


def wait_for_fonts(page) -> None:
    page.evaluate("document.fonts.ready.then(() => document.fonts.size)")


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as reports/test-screenshots/``name`` and check that it shows something."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=path, full_page=True)
    pixels = np.asarray(Image.open(path).convert("L"))
    assert pixels.shape[0] > 300 and (pixels < 128).mean() > 0.002, f"{path} is blank"
    return path


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium drew the text of the first element matching ``selector`` with (CDP), each with
    its family, PostScript name, whether it is a web font and how many glyphs it drew."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, f"nothing matches {selector}"
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def assert_embedded_font_only(page, selector: str) -> None:
    """The Chinese text of ``selector`` is drawn with the embedded font alone, one glyph per character:
    no fallback to a system font and no missing-glyph boxes."""
    text = page.locator(selector).first.text_content()
    assert re.search(r"[\u4e00-\u9fff]", text), (selector, text)
    fonts = platform_fonts(page, selector)
    assert [(f["postScriptName"], f["isCustomFont"], f["glyphCount"]) for f in fonts] == \
        [(EMBEDDED_FONT, True, len(text))], (selector, text, fonts)


def visible_column(page, index: int) -> list[str | None]:
    """The sort keys of column ``index`` of the index page's county table, visible rows in shown order."""
    return page.evaluate("""i => Array.from(document.querySelectorAll('#counties tbody tr'))
        .filter(r => !r.hidden).map(r => r.cells[i].getAttribute('data-sort'))""", index)


def follow_contents_links(page) -> list[str]:
    """Click every link of the page's table of contents (``nav.toc``), from the top of the page each
    time, and check that it lands on its heading: the address ends in ``#id``, the heading is the
    ``:target`` and is on screen.  Returns the links followed."""
    links = page.locator("nav.toc a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for i, href in enumerate(hrefs):
        assert href.startswith("#"), href
        page.evaluate("window.scrollTo(0, 0)")
        links.nth(i).click()
        assert page.evaluate("location.hash") == href
        expect(page.locator(f'[id="{href[1:]}"]')).to_be_in_viewport()
        assert page.evaluate("document.querySelector(':target').id") == href[1:]
    return hrefs
