"""PDF rendering never fetches files or URLs: only data: URLs and our own static files load."""

import http.server
import subprocess
import threading
from pathlib import Path
from urllib.request import urlopen

import pytest
from weasyprint import HTML

from kam.pdf import BASE_URL, RefusedURL, StaticOnlyURLFetcher, render_pdf, static_url


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):
        self.requests.append(self.path)
        body = b"<p>LEAKEDFROMNETWORK</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    _Recorder.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_the_local_server_answers_a_direct_request(local_server):
    """The trap works: a fetch that were allowed would be recorded."""
    with urlopen(f"http://127.0.0.1:{local_server.server_port}/probe") as response:
        assert b"LEAKED" in response.read()
    assert _Recorder.requests == ["/probe"]


def test_files_and_network_are_refused(local_server, settings):
    port = local_server.server_port
    html = f"""
        <style>@import url("http://127.0.0.1:{port}/import.css");
          body {{ background: url("file:///etc/passwd"); }}</style>
        <link rel="stylesheet" href="http://127.0.0.1:{port}/link.css">
        <link rel="stylesheet" href="file:///etc/passwd">
        <p>Visible text</p>
        <img src="http://127.0.0.1:{port}/image.png">
        <img src="file:///etc/passwd">
        <img src="/../../../../etc/passwd">
        <img src="{static_url("../../../../etc/passwd")}">
        <img src="{static_url("%2e%2e/%2e%2e/etc/passwd")}">
        <object data="file:///etc/passwd"></object>
        <embed src="http://127.0.0.1:{port}/embed">
        <iframe src="file:///etc/passwd"></iframe>
        <a href="file:///etc/passwd">link</a>
        <img src="data:text/plain;base64,cm9vdDp4OjA6MDo=">
    """
    pdf = HTML(string=html, url_fetcher=StaticOnlyURLFetcher(), base_url=BASE_URL).write_pdf()
    text = pdf_text(pdf)
    assert "Visible text" in text
    assert _Recorder.requests == []
    passwd = Path("/etc/passwd").read_text()
    assert "root:x:0:0" in passwd
    assert "root:x" not in text
    assert "LEAKED" not in text
    assert b"root:x:0:0" not in pdf


def test_the_fetcher_refuses_all_but_static_and_data(local_server):
    fetcher = StaticOnlyURLFetcher()
    for url in (
        "file:///etc/passwd",
        f"http://127.0.0.1:{local_server.server_port}/x",
        "https://print.kam.invalid/etc/passwd",
        static_url("../settings.py"),
        static_url("%2e%2e/%2e%2e/pyproject.toml"),
    ):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert _Recorder.requests == []
    # data: URLs carry their content inline: nothing is fetched.
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    assert fetcher.fetch(static_url("css/print.css")).read()


def test_render_pdf_uses_the_fetcher(local_server, tmp_path, settings):
    """The project's renderer refuses a remote URL that reaches a template's HTML."""
    template = tmp_path / "evil.html"
    template.write_text(
        f'<p>Plan</p><img src="http://127.0.0.1:{local_server.server_port}/x">'
        '<img src="file:///etc/passwd">'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    text = pdf_text(render_pdf("evil.html", {}))
    assert "Plan" in text
    assert _Recorder.requests == []
