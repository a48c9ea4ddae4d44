"""``trakt report`` for a failed run, opened in real headless Chromium (Debian's ``chromium``,
driven by Playwright): the failing step shows as failed, the error text and the step's
file:line are visible, the page loads nothing but itself; a screenshot is kept.

Screenshots go to ``$TRAKT_TEST_ARTIFACTS`` (else the test's tmp_path); the path is printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.report.runs import FAILING_STEP, MESSAGE, RAISE_LINE, run, step_file
from trakt.cli import main as trakt

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TRAKT_CHROMIUM", "/usr/bin/chromium")
# A closed network: no background fetches at start (they would only be refused), no GPU.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser(playwright: Any) -> Any:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does it), or set "
            "TRAKT_CHROMIUM to its path",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _artifacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("TRAKT_TEST_ARTIFACTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


def test_failed_run_report_in_chromium(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright import sync_api  # the dev extra's; a missing one fails, never skips

    manifest_path, manifest = run(project, [10, -3, 7])
    assert manifest["status"] == "failed"
    error = manifest["error"]
    assert error["step_id"] == FAILING_STEP and error["message"] == MESSAGE
    page_path = tmp_path / "report" / "report.html"
    assert trakt(["report", str(manifest_path), "-o", str(page_path)]) == 0
    assert capsys.readouterr().out == f"report: {page_path}\n"

    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_path.as_uri(), wait_until="load")

            # The failing step's node: marked failed, drawn red, its label says so.
            node = page.locator(f'g.node-step[data-name="{FAILING_STEP}"]')
            assert node.count() == 1
            assert "status-failed" in (node.get_attribute("class") or "").split()
            assert node.locator("text.status").text_content() == "step · failed"
            fill = node.locator("rect").evaluate("r => getComputedStyle(r).fill")
            assert fill == "rgb(255, 205, 210)"  # graph_svg's status-failed fill, #ffcdd2
            after = page.locator('g.node-step[data-name="publish"]')
            assert "status-not-run" in (after.get_attribute("class") or "").split()

            # The error text, visible and as text (its <script> never ran).
            message = page.locator(".error-message")
            assert message.is_visible()
            assert message.inner_text() == MESSAGE
            assert page.evaluate("document.scripts.length") == 0
            assert page.evaluate("window.__pwned") is None
            assert f'check.py", line {RAISE_LINE}' in page.locator(".traceback").inner_text()
            # The step's file:line, as the manifest's error records it.
            location = error["location"]
            shown = page.locator(".location").inner_text()
            assert f"{location['file']}:{location['line']}" in shown
            assert Path(location["file"]).resolve() == step_file(project).resolve()
            assert location["line"] == RAISE_LINE

            shot = _artifacts(tmp_path) / "report-failed-run.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    # Nothing but the page itself was requested: no font, script, image or stylesheet.
    assert requests == [page_path.as_uri()]
    assert shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nscreenshot of the failed run's report: {shot}")
