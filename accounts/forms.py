from django import forms
from django.db.models import Q
from django.forms import inlineformset_factory
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Account,
    AccountTeamMember,
    BuyingRole,
    Competitor,
    Contact,
    ContactDecisionFactor,
    DecisionFactor,
    PotentialYear,
    Relationship,
    TeamRole,
)
from kam.forms import limit_free_text
from kam.models import User

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VersionedForm(forms.ModelForm):
    """Carries the version the user started from, so a concurrent save is detected."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version

    def values(self) -> dict:
        """The cleaned model fields, without the version."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class AccountProfileForm(VersionedForm):
    website = forms.URLField(
        label=_("Website"), required=False, max_length=200, assume_scheme="https"
    )
    parent_erp_number = forms.CharField(
        label=_("Parent group (ERP customer number)"),
        max_length=32,
        required=False,
        help_text=_("Leave empty when the account belongs to no group."),
    )

    class Meta:
        model = Account
        fields = (
            "name",
            "erp_number",
            "legal_form",
            "account_type",
            "status",
            "strategy",
            "industry",
            "region",
            "country",
            "countries_of_operation",
            "website",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.parent_id and not self.is_bound:
            self.initial["parent_erp_number"] = self.instance.parent.erp_number

    def clean_parent_erp_number(self) -> Account | None:
        number = self.cleaned_data["parent_erp_number"].strip()
        if not number:
            return None
        parent = Account.objects.filter(erp_number__iexact=number).first()
        if parent is None:
            raise forms.ValidationError(
                _("No account has the ERP customer number %(number)s."),
                code="unknown_parent",
                params={"number": number},
            )
        if parent.pk == self.instance.pk:
            raise forms.ValidationError(
                _("An account cannot be its own group."), code="parent_cycle"
            )
        return parent

    def values(self) -> dict:
        return {**super().values(), "parent": self.cleaned_data["parent_erp_number"]}


@limit_free_text
class AccountPotentialForm(VersionedForm):
    class Meta:
        model = Account
        fields = (
            "share_of_wallet",
            "share_of_wallet_target",
            "requirements",
            "key_processes",
            "partnership_starting_points",
            "cooperation_history",
            "customer_goals",
        )
        localized_fields = ("share_of_wallet", "share_of_wallet_target")
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "requirements",
                "key_processes",
                "partnership_starting_points",
                "cooperation_history",
                "customer_goals",
            )
        }

    def clean(self):
        cleaned = super().clean()
        today, target = cleaned.get("share_of_wallet"), cleaned.get("share_of_wallet_target")
        if today is not None and target is not None and target < today:
            self.add_error(
                "share_of_wallet_target",
                forms.ValidationError(
                    _("The target should not be below today's share."), code="target_below"
                ),
            )
        return cleaned


PotentialYearFormSet = inlineformset_factory(
    Account,
    PotentialYear,
    fields=("year", "expected_revenue", "expected_margin"),
    localized_fields=("expected_revenue", "expected_margin"),
    extra=1,
    can_delete=True,
    max_num=10,
    validate_max=True,
)
CompetitorFormSet = inlineformset_factory(
    Account,
    Competitor,
    fields=("name", "estimated_share", "notes"),
    localized_fields=("estimated_share",),
    extra=1,
    can_delete=True,
    max_num=20,
    validate_max=True,
)


@limit_free_text
class ContactForm(VersionedForm):
    roles = forms.MultipleChoiceField(
        label=_("Buying-center roles"),
        choices=BuyingRole.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Contact
        fields = (
            "first_name",
            "last_name",
            "position",
            "department",
            "location",
            "email",
            "phone",
            "reports_to",
            "preferred_channel",
            "last_contact_date",
            "influence",
            "attitude",
            "mode",
            "door_openers",
            "notes",
            "has_left",
        )
        widgets = {
            "last_contact_date": DATE_INPUT,
            "attitude": forms.NumberInput(attrs={"min": -5, "max": 5, "step": 1}),
            "door_openers": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, account: Account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].required = bool(self.instance.pk)
        managers = account.contacts.filter(has_left=False)
        if self.instance.pk:
            managers = managers.exclude(pk=self.instance.pk)
            if not self.is_bound:
                self.initial["roles"] = [role.role for role in self.instance.roles.all()]
        self.fields["reports_to"].queryset = managers.order_by("last_name", "first_name")


class DecisionFactorForm(forms.ModelForm):
    class Meta:
        model = ContactDecisionFactor
        fields = ("factor", "custom_name", "importance")

    def clean(self):
        cleaned = super().clean()
        factor, name = cleaned.get("factor"), (cleaned.get("custom_name") or "").strip()
        if factor == DecisionFactor.CUSTOM and not name:
            self.add_error(
                "custom_name",
                forms.ValidationError(_("Name your own decision factor."), code="custom_unnamed"),
            )
        elif factor and factor != DecisionFactor.CUSTOM:
            cleaned["custom_name"] = ""
        return cleaned


DecisionFactorFormSet = inlineformset_factory(
    Contact,
    ContactDecisionFactor,
    form=DecisionFactorForm,
    extra=1,
    can_delete=True,
    max_num=12,
    validate_max=True,
)


class RelationshipForm(forms.ModelForm):
    # The contact's relationships as the user saw them (accounts.selectors.relationships_seen).
    seen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    class Meta:
        model = Relationship
        fields = ("user", "strength", "last_touched", "notes")
        widgets = {"last_touched": DATE_INPUT}

    def __init__(self, *args, account: Account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(
            account_memberships__account=account
        ).order_by("last_name", "first_name")
        self.fields["strength"].widget = forms.Select(choices=[(n, str(n)) for n in range(1, 6)])


class TeamMemberForm(forms.ModelForm):
    """Adds a person to the team. The person list shows at most ``PEOPLE_SHOWN`` active
    users, those matching ``search`` when given, so the page stays small with thousands of
    users; a posted form accepts any active user."""

    PEOPLE_SHOWN = 50

    class Meta:
        model = AccountTeamMember
        fields = ("user", "role")

    def __init__(self, *args, search: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.search = search.strip()
        self.people = User.objects.filter(is_active=True).order_by("last_name", "first_name", "pk")
        for word in self.search.split()[:5]:
            self.people = self.people.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(username__icontains=word)
            )
        field = self.fields["user"]
        field.queryset = self.people if self.is_bound else self.people[: self.PEOPLE_SHOWN]
        self.fields["role"].initial = TeamRole.SALES

    @cached_property
    def more_people(self) -> bool:
        """More people match than the list shows (one query)."""
        return self.people[self.PEOPLE_SHOWN : self.PEOPLE_SHOWN + 1].exists()
