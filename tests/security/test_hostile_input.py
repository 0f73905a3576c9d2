"""Hostile input in every form field: refused with a form error or stored exactly, shown as
text in pages and in the plan PDF, never run and never a 500."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import subprocess
from pathlib import Path

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Account, Contact
from kam.forms import FREE_TEXT_MAX_LENGTH
from kam.markdown import render_markdown
from kpis.forms.figures import WasField
from plans import services as plan_services
from plans.models import Plan
from plans.selectors import plan_snapshot
from tests.security.hostile import HUGE, NUL, PAYLOADS, runnable

APPS = ("accounts", "selection", "plans", "kpis", "payments", "kam")


def _form_modules() -> list:
    modules = []
    for app in APPS:
        module = importlib.import_module(f"{app}.forms")
        modules.append(module)
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            modules.append(importlib.import_module(f"{module.__name__}.{info.name}"))
    return modules


def _form_classes() -> list[type[forms.BaseForm]]:
    """Every form class the apps define, and the form of every formset they build."""
    found: dict[str, type[forms.BaseForm]] = {}
    for module in _form_modules():
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, forms.BaseForm):
                if value.__module__ == module.__name__:
                    found[f"{module.__name__}.{name}"] = value
            elif (
                inspect.isclass(value)
                and issubclass(value, forms.BaseFormSet)
                and getattr(value, "form", None) is not None
            ):
                found[f"{module.__name__}.{name}.form"] = value.form
    return [found[key] for key in sorted(found)]


def _text_fields() -> list[tuple[str, forms.CharField]]:
    return [
        (f"{form.__module__}.{form.__name__}.{name}", field)
        for form in _form_classes()
        for name, field in form.base_fields.items()
        if isinstance(field, forms.CharField)
    ]


TEXT_FIELDS = _text_fields()


def test_the_walk_finds_the_forms_of_every_app() -> None:
    names = {f"{form.__module__}.{form.__name__}" for form in _form_classes()}

    for app in APPS:
        assert any(name.startswith(f"{app}.") for name in names), app
    assert "accounts.forms.ContactForm" in names
    assert "plans.forms.editing.SwotForm" in names
    assert len(TEXT_FIELDS) >= 60


@pytest.mark.parametrize(("name", "field"), TEXT_FIELDS, ids=[n for n, _ in TEXT_FIELDS])
def test_every_text_field_refuses_huge_values_and_nul_and_keeps_hostile_text(name, field) -> None:
    if not isinstance(field, WasField):  # a hidden number: the value is parsed, not kept
        assert field.max_length is not None, name
        assert field.max_length <= FREE_TEXT_MAX_LENGTH, name
    for refused in (HUGE, NUL):
        with pytest.raises(ValidationError):
            field.clean(refused)
    for payload in PAYLOADS.values():
        try:
            cleaned = field.clean(payload)
        except ValidationError:
            continue  # refused with a form error: fine
        if isinstance(cleaned, str):
            assert cleaned == payload[: field.max_length] == payload, name


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_markdown_shows_hostile_text_without_running_it(payload) -> None:
    html = str(render_markdown(payload))

    assert runnable(html) == [], html


@pytest.fixture
def kam_client(client, cast):
    cast.kam.language = "en"
    cast.kam.save(update_fields=["language"])
    client.force_login(cast.kam)
    return client


POTENTIAL_TEXTS = (
    "requirements",
    "key_processes",
    "partnership_starting_points",
    "cooperation_history",
    "customer_goals",
)


def _potential_data(texts: dict[str, str]) -> dict[str, str]:
    return {
        "version": "1",
        "share_of_wallet": "",
        "share_of_wallet_target": "",
        **dict.fromkeys(POTENTIAL_TEXTS, ""),
        **texts,
        "years-TOTAL_FORMS": "0",
        "years-INITIAL_FORMS": "0",
        "competitors-TOTAL_FORMS": "1",
        "competitors-INITIAL_FORMS": "0",
        "competitors-0-name": texts.get("requirements", "Wettbewerber GmbH")[:120],
        "competitors-0-estimated_share": "",
    }


@pytest.mark.parametrize("key", PAYLOADS.keys())
def test_an_account_profile_keeps_hostile_text_exactly_and_shows_it_escaped(
    kam_client, cast, key
) -> None:
    payload = PAYLOADS[key]

    response = kam_client.post(
        reverse("accounts:account-potential-edit", args=[cast.account.pk]),
        _potential_data(dict.fromkeys(POTENTIAL_TEXTS, payload)),
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    account = Account.objects.get(pk=cast.account.pk)
    assert [getattr(account, name) for name in POTENTIAL_TEXTS] == [payload] * 5
    page = kam_client.get(reverse("accounts:account-potential", args=[cast.account.pk]))
    assert page.status_code == 200
    assert runnable(page.content.decode()) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (HUGE, f"at most {FREE_TEXT_MAX_LENGTH} characters"),
        (NUL, "Null characters are not allowed."),
    ],
    ids=["huge", "nul"],
)
def test_an_account_profile_refuses_huge_text_and_nul_with_a_form_error(
    kam_client, cast, value, message
) -> None:
    response = kam_client.post(
        reverse("accounts:account-potential-edit", args=[cast.account.pk]),
        _potential_data({"customer_goals": value}),
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Account.objects.get(pk=cast.account.pk).customer_goals == ""


CONTACT_TEXTS = {
    "first_name": 80,
    "last_name": 80,
    "position": 120,
    "department": 120,
    "location": 120,
    "phone": 40,
    "door_openers": FREE_TEXT_MAX_LENGTH,
    "notes": FREE_TEXT_MAX_LENGTH,
}


@pytest.mark.parametrize("key", PAYLOADS.keys())
def test_a_contact_keeps_hostile_text_exactly_and_the_buying_center_runs_none(
    kam_client, cast, key
) -> None:
    texts = {name: PAYLOADS[key][:limit].strip() for name, limit in CONTACT_TEXTS.items()}

    response = kam_client.post(
        reverse("accounts:contact-create", args=[cast.account.pk]),
        {
            **texts,
            "influence": "high",
            "attitude": "0",
            "factors-TOTAL_FORMS": "1",
            "factors-INITIAL_FORMS": "0",
            "factors-0-factor": "custom",
            "factors-0-custom_name": PAYLOADS[key][:80],
            "factors-0-importance": "5",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    contact = Contact.objects.get(account=cast.account)
    assert {name: getattr(contact, name) for name in CONTACT_TEXTS} == texts
    assert contact.decision_factors.get().custom_name == PAYLOADS[key][:80]
    for name in ("accounts:account-buying-center", "accounts:account-relationships"):
        page = kam_client.get(reverse(name, args=[cast.account.pk]))
        assert page.status_code == 200
        assert runnable(page.content.decode()) == []


@pytest.fixture
def plan(cast) -> Plan:
    return plan_services.plan_create(account=cast.account, start_year=2027, user=cast.kam)


SWOT = ("strengths", "weaknesses", "opportunities", "threats")


def _save_swot(client, plan: Plan, texts: dict[str, str]):
    plan.refresh_from_db()
    return client.post(
        reverse("plans:section-edit", args=[plan.pk, "swot"]),
        {"revision": plan.revision, **dict.fromkeys(SWOT, ""), **texts},
    )


def test_a_plan_keeps_every_payload_exactly_and_its_page_runs_none(kam_client, plan) -> None:
    texts = dict(zip(SWOT, list(PAYLOADS.values())[:4], strict=True))
    response = _save_swot(kam_client, plan, texts)
    assert response.status_code == 302, response.content.decode()[-2000:]
    plan.refresh_from_db()
    assert {name: getattr(plan, name) for name in SWOT} == texts
    texts = dict(zip(SWOT, [*list(PAYLOADS.values())[4:], PAYLOADS["svg"]], strict=True))
    assert _save_swot(kam_client, plan, texts).status_code == 302

    page = kam_client.get(reverse("plans:plan-detail", args=[plan.pk])).content.decode()

    plan.refresh_from_db()
    assert {name: getattr(plan, name) for name in SWOT} == texts
    assert runnable(page) == []


@pytest.mark.parametrize("value", [HUGE, NUL], ids=["huge", "nul"])
def test_a_plan_section_refuses_huge_text_and_nul(kam_client, plan, value) -> None:
    response = _save_swot(kam_client, plan, {"threats": value})

    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.threats == ""


def test_the_plan_pdf_prints_hostile_text_as_text(cast, plan, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="kam.pdf")
    caplog.set_level(logging.WARNING, logger="weasyprint")
    hostile = "\n\n".join(PAYLOADS.values())
    plan = plan_services.plan_section_update(
        plan=plan,
        section="swot",
        revision=plan.revision,
        values=dict.fromkeys(SWOT, hostile),
        user=cast.kam,
    )
    path = tmp_path / "plan.pdf"
    path.write_bytes(plan_services.plan_pdf_render(plan_snapshot(plan)))

    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout

    assert "<script>alert('kam')</script>" in text
    assert "DROP TABLE accounts_account" in text
    assert '<svg onload="alert(1)"><script>alert(2)</script>' in text.replace("\n", " ")
    # The override is kept and shown as Unicode prescribes, inside its own paragraph.
    assert "Rechnungexe.jpg" in text
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "Refused" in m or "Failed to load" in m], messages
