"""The page shell: error pages, the admin's first user, printouts that never fetch."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from django.core.management import call_command
from django.test import Client, RequestFactory
from django.views import defaults
from weasyprint import HTML

from kam.models import User
from kam.pdf import StaticOnlyURLFetcher
from kam.roles import Role


def test_a_missing_page_is_a_translated_404_in_the_shell(client, cast) -> None:
    client.force_login(cast.kam)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Seite nicht gefunden" in page
    assert "Hauptnavigation" in page


def test_a_read_only_write_is_a_translated_403(client, cast) -> None:
    client.force_login(cast.finance)

    response = client.post("/jobs/system-check/")

    assert response.status_code == 403
    assert "Zugriff verweigert" in response.content.decode()


def test_the_server_error_page_renders_without_a_request_context(db) -> None:
    response = defaults.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Etwas ist schiefgelaufen" in response.content.decode()


def test_an_expired_form_explains_itself(cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)

    response = client.post("/jobs/system-check/")

    assert response.status_code == 403
    assert "Das Formular ist abgelaufen" in response.content.decode()


def test_createsuperuser_makes_an_administrator(db) -> None:
    call_command(
        "createsuperuser",
        interactive=False,
        username="root",
        email="root@example.com",
        verbosity=0,
    )

    user = User.objects.get(username="root")
    assert user.is_superuser
    assert Role.ADMINISTRATOR in user.roles


def test_pdf_rendering_never_fetches_urls_or_files() -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    html = (
        f'<link rel="stylesheet" href="{url}/style.css"><img src="{url}/logo.png">'
        '<img src="file:///etc/passwd"><p>Inhalt</p>'
    )
    try:
        pdf = HTML(string=html, url_fetcher=StaticOnlyURLFetcher()).write_pdf()
    finally:
        server.shutdown()

    assert pdf.startswith(b"%PDF")
    assert hits == []
