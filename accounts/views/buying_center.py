"""Editing the buying center and the relationship map, in place with htmx."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import (
    ContactForm,
    DecisionFactorFormSet,
    RelationshipForm,
)
from accounts.models import Account, Contact, Relationship
from accounts.views.common import add_service_error, show_conflict
from kam import access


def _buying_center_section(request: HttpRequest, account: Account) -> HttpResponse:
    """The buying-center section alone, swapped in by htmx after a change."""
    response = render(
        request,
        "accounts/includes/_buying_center.html",
        {
            "account": account,
            "center": selectors.buying_center(account=account),
            "can_edit": True,
        },
    )
    response["HX-Retarget"] = "#buying-center"
    response["HX-Reswap"] = "outerHTML"
    return response


class ContactFormView(View):
    """Add or edit a contact: a panel inside the buying center with htmx, a page without."""

    def _objects(self, request: HttpRequest, **kwargs) -> tuple[Account, Contact | None]:
        if "contact_pk" in kwargs:
            contact = selectors.contact_get_editable(user=request.user, pk=kwargs["contact_pk"])
            return contact.account, contact
        return selectors.account_get_editable(user=request.user, pk=kwargs["pk"]), None

    def _render(self, request, account, contact, form, factors):
        template = (
            "accounts/includes/_contact_form.html" if request.htmx else "accounts/contact_form.html"
        )
        return render(
            request,
            template,
            {"account": account, "contact": contact, "form": form, "factors": factors},
        )

    def get(self, request: HttpRequest, **kwargs) -> HttpResponse:
        account, contact = self._objects(request, **kwargs)
        form = ContactForm(instance=contact, account=account)
        factors = DecisionFactorFormSet(instance=contact, prefix="factors")
        return self._render(request, account, contact, form, factors)

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        account, contact = self._objects(request, **kwargs)
        form = ContactForm(request.POST, instance=contact, account=account)
        factors = DecisionFactorFormSet(request.POST, instance=contact, prefix="factors")
        if form.is_valid() and factors.is_valid():
            try:
                if contact is None:
                    services.contact_create(
                        account=account,
                        values=form.values(),
                        roles=form.cleaned_data["roles"],
                        factor_formset=factors,
                    )
                else:
                    services.contact_update(
                        contact=contact,
                        version=form.cleaned_data["version"],
                        values=form.values(),
                        roles=form.cleaned_data["roles"],
                        factor_formset=factors,
                    )
            except services.EditConflict as conflict:
                show_conflict(form, conflict)
            except ValidationError as error:
                add_service_error(form, error)
            except IntegrityError:
                form.add_error(
                    None,
                    forms.ValidationError(
                        _("Each decision factor may appear only once."), code="duplicate"
                    ),
                )
            else:
                if request.htmx:
                    return _buying_center_section(request, account)
                messages.success(request, _("The contact has been saved."))
                return redirect("accounts:account-buying-center", pk=account.pk)
        return self._render(request, account, contact, form, factors)


class ContactDeleteView(View):
    def get(self, request: HttpRequest, contact_pk: int) -> HttpResponse:
        contact = selectors.contact_get_editable(user=request.user, pk=contact_pk)
        return render(
            request,
            "accounts/confirm_delete.html",
            {
                "account": contact.account,
                "object": contact,
                "cancel_url": reverse("accounts:account-buying-center", args=[contact.account_id]),
            },
        )

    def post(self, request: HttpRequest, contact_pk: int) -> HttpResponse:
        contact = selectors.contact_get_editable(user=request.user, pk=contact_pk)
        account = contact.account
        services.contact_delete(contact=contact)
        if request.htmx:
            return _buying_center_section(request, account)
        messages.success(request, _("The contact has been removed."))
        return redirect("accounts:account-buying-center", pk=account.pk)


def _relationship_section(request: HttpRequest, account: Account) -> HttpResponse:
    response = render(
        request,
        "accounts/includes/_relationship_map.html",
        {
            "account": account,
            "center": selectors.buying_center(account=account),
            "can_edit": True,
        },
    )
    response["HX-Retarget"] = "#relationship-map"
    response["HX-Reswap"] = "outerHTML"
    return response


class RelationshipCreateView(View):
    """Record a relationship between a team member and a contact."""

    def _render(self, request, contact, form):
        template = (
            "accounts/includes/_relationship_form.html"
            if request.htmx
            else "accounts/relationship_form.html"
        )
        return render(
            request, template, {"account": contact.account, "contact": contact, "form": form}
        )

    def get(self, request: HttpRequest, contact_pk: int) -> HttpResponse:
        contact = selectors.contact_get_editable(user=request.user, pk=contact_pk)
        form = RelationshipForm(
            account=contact.account,
            initial={"seen": selectors.relationships_seen(contact=contact)},
        )
        return self._render(request, contact, form)

    def post(self, request: HttpRequest, contact_pk: int) -> HttpResponse:
        contact = selectors.contact_get_editable(user=request.user, pk=contact_pk)
        form = RelationshipForm(request.POST, account=contact.account)
        if form.is_valid():
            try:
                data = form.cleaned_data
                services.relationship_save(
                    contact=contact,
                    user=data["user"],
                    strength=data["strength"],
                    last_touched=data["last_touched"],
                    notes=data["notes"],
                    seen=data["seen"] or None,
                )
            except ValidationError as error:
                if getattr(error, "code", None) == "edit_conflict":
                    # Saving again replaces the other person's relationship deliberately.
                    form.data = form.data.copy()
                    form.data["seen"] = selectors.relationships_seen(contact=contact)
                add_service_error(form, error)
            else:
                if request.htmx:
                    return _relationship_section(request, contact.account)
                messages.success(request, _("The relationship has been saved."))
                return redirect("accounts:account-relationships", pk=contact.account_id)
        return self._render(request, contact, form)


@require_POST
def relationship_delete(request: HttpRequest, relationship_pk: int) -> HttpResponse:
    relationship = access.get_editable_for_user(
        request.user,
        Relationship.objects.select_related("contact__account"),
        account_path="contact__account",
        pk=relationship_pk,
    )
    account = relationship.contact.account
    services.relationship_delete(relationship=relationship)
    if request.htmx:
        return _relationship_section(request, account)
    messages.success(request, _("The relationship has been removed."))
    return redirect("accounts:account-relationships", pk=account.pk)
