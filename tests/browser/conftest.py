"""Browser-test harness: Debian's Chromium driven by Playwright against a live server,
with a login helper, an axe-core check and the W3C HTML checker (vnu)."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; Django's guard would refuse the
# ORM calls the tests make between page steps although nothing here is concurrent.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NODE_MODULES = settings.BASE_DIR / "node_modules"
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing_tools() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_SCRIPT.exists() or not VNU_JAR.exists():
        missing.append("axe-core and vnu-jar (npm ci)")
    if not shutil.which("java"):
        missing.append("Java for the HTML checker (apt-get install default-jre-headless)")
    return missing


def pytest_collection_modifyitems(config, items):
    missing = _missing_tools()
    if not missing:
        return
    message = "Browser tests need " + "; ".join(missing)
    if os.environ.get("CI"):
        raise pytest.UsageError(message)
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def on_console(message) -> None:
        # Failed loads are reported with their URL by on_response; a page visited on purpose
        # for its error status (a 404 page) is not a fault.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"Browser console errors (CSP violations show here too): {errors}"


def login(page, live_server, username: str, password: str) -> None:
    """Log in through the real form, as a person would."""
    page.goto(f"{live_server.url}/auth/login/")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{live_server.url}/")


def assert_accessible(page) -> None:
    """axe-core on the current page: no serious or critical violations."""
    page.evaluate(AXE_SCRIPT.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, f"axe-core on {page.url}: {serious}"


@dataclass
class HtmlChecker:
    """Collects the HTML the server sent and validates it all at once with vnu."""

    folder: Path
    documents: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, html: str) -> None:
        self.documents[name] = html

    def assert_valid(self) -> None:
        if not self.documents:
            return
        paths = []
        for index, (name, html) in enumerate(self.documents.items()):
            path = self.folder / f"{index:02d}-{name.strip('/').replace('/', '_') or 'root'}.html"
            path.write_text(html, encoding="utf-8")
            paths.append(str(path))
        result = subprocess.run(
            ["java", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *paths],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        messages = json.loads(result.stderr or '{"messages": []}')["messages"]
        errors = [
            f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}"
            for m in messages
            if m["type"] == "error"
        ]
        assert not errors, "W3C HTML checker errors:\n" + "\n".join(errors)


@pytest.fixture
def html_checker(tmp_path):
    checker = HtmlChecker(tmp_path)
    yield checker
    checker.assert_valid()


def visit(page, live_server, path: str, html_checker: HtmlChecker | None = None) -> None:
    """Open ``path``, then check it with axe-core and queue its HTML for the W3C checker."""
    response = page.goto(f"{live_server.url}{path}")
    assert_accessible(page)
    if html_checker is not None and response is not None:
        html_checker.add(path, response.text())
