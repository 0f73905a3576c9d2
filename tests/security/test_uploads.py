"""Uploads: size and type limits answer with a form error, file names cannot climb out of
MEDIA_ROOT, stored files live outside STATIC_ROOT and are served only through views that
check access."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kpis.models import ImportBatch
from tests.factories import JobFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post_import(client, name: str, content: bytes):
    return client.post(
        reverse("kpis:import-create"),
        {
            "new_source": "SAP",
            "year": 2024,
            "number_format": "auto",
            "file": SimpleUploadedFile(name, content),
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )


def test_a_file_over_the_limit_gets_a_translated_error(client, cast, settings):
    settings.IMPORT_MAX_BYTES = 64 * 1024
    client.force_login(cast.leadership)

    response = post_import(client, "big.csv", b"a;b\n" + b"1;2\n" * 20_000)

    assert response.status_code == 200
    assert "Die Datei ist größer als" in response.text
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [("image.png", PNG), ("figures.csv", PNG), ("figures.xlsx", b"not a zip"), ("run.exe", b"MZ")],
)
def test_a_file_of_the_wrong_type_gets_an_error(client, cast, name, content):
    client.force_login(cast.leadership)

    response = post_import(client, name, content)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ImportBatch.objects.exists()


def test_a_climbing_file_name_is_stored_under_media_root_with_a_safe_name(client, cast, media_root):
    client.force_login(cast.leadership)
    content = f"Kundennummer;Umsatz\r\n{cast.account.erp_number};1000\r\n".encode()

    response = post_import(client, "../../etc/x.csv", content)

    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    stored = Path(batch.file.path).resolve()
    assert stored.is_relative_to(media_root.resolve())
    assert ".." not in batch.file.name
    assert not batch.file.name.startswith("/")
    assert stored.name.startswith("x")
    assert stored.suffix == ".csv"
    assert not stored.is_relative_to(Path(settings.STATIC_ROOT).resolve())


def test_media_and_static_roots_are_apart():
    media, static = Path(settings.MEDIA_ROOT).resolve(), Path(settings.STATIC_ROOT).resolve()
    assert not media.is_relative_to(static)
    assert not static.is_relative_to(media)
    assert not any(Path(d).resolve().is_relative_to(media) for d in settings.STATICFILES_DIRS)


def test_stored_files_are_served_only_through_the_access_checked_view(client, cast):
    job = JobFactory(created_by=cast.kam)
    job.result_file.save("printout.pdf", ContentFile(b"%PDF-1.7 secret"), save=True)

    # The storage's URL is not served by the app, for anyone.
    client.force_login(cast.admin)
    assert client.get(job.result_file.url).status_code == 404
    client.force_login(cast.outsider_kam)
    assert client.get(job.result_file.url).status_code == 404
    assert client.get(reverse("kam:job-file", args=[job.pk])).status_code in (403, 404)
    client.logout()
    assert client.get(reverse("kam:job-file", args=[job.pk])).status_code == 302

    client.force_login(cast.kam)
    response = client.get(reverse("kam:job-file", args=[job.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 secret"


def test_an_import_file_has_no_public_url(client, cast):
    client.force_login(cast.leadership)
    content = f"Kundennummer;Umsatz\r\n{cast.account.erp_number};1000\r\n".encode()
    post_import(client, "figures.csv", content)
    batch = ImportBatch.objects.get()

    assert client.get(batch.file.url).status_code == 404
    assert client.get(f"/{batch.file.name}").status_code == 404
