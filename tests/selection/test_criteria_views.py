"""Criteria sets, versions, the what-if preview and custom attributes, through their pages."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from selection import services
from selection.models import (
    AccountAttribute,
    AccountAttributeValue,
    CriteriaSet,
    CriteriaVersion,
    KnockoutCriterion,
    ScoredCriterion,
    SelectionResult,
    SelectionRun,
    VersionState,
)
from selection.selectors import version_preview
from tests.access import ROLES, Row, check_access
from tests.factories import AccountFactory

READ = {"leadership": 200, "admin": 200, "finance": 200, "viewer": 200}
MANAGE = {"leadership": 200, "admin": 200}
MANAGE_REDIRECT = {"leadership": 302, "admin": 302}
READ_MISSING = dict.fromkeys(READ, 404)

MATRIX = (
    Row("set list", "get", "selection:criteria-set-list", 403, READ),
    Row("set detail", "get", "selection:criteria-set-detail {set}", 403, READ),
    Row("set missing", "get", "selection:criteria-set-detail {missing}", 403, READ_MISSING),
    Row("set create page", "get", "selection:criteria-set-create", 403, MANAGE),
    Row("set create", "post", "selection:criteria-set-create", 403, MANAGE),
    Row("released version", "get", "selection:version-detail {released}", 403, READ),
    Row("draft version", "get", "selection:version-detail {draft}", 403, READ),
    Row("missing version", "get", "selection:version-detail {missing}", 403, READ_MISSING),
    Row("preview", "get", "selection:version-preview {draft}", 403, READ),
    Row("draft start", "post", "selection:version-draft {released}", 403, MANAGE_REDIRECT),
    Row("draft start by GET", "get", "selection:version-draft {released}", 405),
    Row("settings page", "get", "selection:version-settings {draft}", 403, MANAGE),
    Row("settings", "post", "selection:version-settings {draft}", 403, MANAGE),
    Row(
        "settings of released",
        "get",
        "selection:version-settings {released}",
        403,
        MANAGE_REDIRECT,
    ),
    Row("tiers page", "get", "selection:version-tiers {draft}", 403, MANAGE),
    Row("tiers", "post", "selection:version-tiers {draft}", 403, MANAGE),
    Row("weights", "post", "selection:version-weights {draft}", 403, MANAGE),
    Row("weights by GET", "get", "selection:version-weights {draft}", 405),
    Row("release", "post", "selection:version-release {draft}", 403, MANAGE),
    Row("release by GET", "get", "selection:version-release {draft}", 405),
    Row("K.O. create page", "get", "selection:knockout-create {draft}", 403, MANAGE),
    Row("K.O. create", "post", "selection:knockout-create {draft}", 403, MANAGE),
    Row("K.O. edit page", "get", "selection:knockout-edit {knockout}", 403, MANAGE),
    Row("K.O. edit", "post", "selection:knockout-edit {knockout}", 403, MANAGE),
    Row("K.O. missing", "get", "selection:knockout-edit {missing}", 403, READ_MISSING),
    Row("K.O. delete page", "get", "selection:knockout-delete {knockout}", 403, MANAGE),
    Row("K.O. delete", "post", "selection:knockout-delete {knockout}", 403, MANAGE),
    Row("criterion create page", "get", "selection:criterion-create {draft}", 403, MANAGE),
    Row("criterion create", "post", "selection:criterion-create {draft}", 403, MANAGE),
    Row("criterion edit page", "get", "selection:criterion-edit {criterion}", 403, MANAGE),
    Row("criterion edit", "post", "selection:criterion-edit {criterion}", 403, MANAGE),
    Row("criterion delete page", "get", "selection:criterion-delete {criterion}", 403, MANAGE),
    Row("criterion delete", "post", "selection:criterion-delete {criterion}", 403, MANAGE),
    Row("attribute list", "get", "selection:attribute-list", 403, READ),
    Row("attribute create page", "get", "selection:attribute-create", 403, MANAGE),
    Row("attribute create", "post", "selection:attribute-create", 403, MANAGE),
    Row("attribute edit page", "get", "selection:attribute-edit {attribute}", 403, MANAGE),
    Row("attribute edit", "post", "selection:attribute-edit {attribute}", 403, MANAGE),
    Row(
        "attribute missing",
        "get",
        "selection:attribute-edit {missing}",
        403,
        {"leadership": 404, "admin": 404},
    ),
)


@pytest.fixture
def draft(cast, released_version) -> CriteriaVersion:
    return services.version_draft_start(version=released_version, user=cast.leadership)


@pytest.fixture
def objects(released_version, draft, workplaces):
    return {
        "set": released_version.criteria_set_id,
        "released": released_version.pk,
        "draft": draft.pk,
        "knockout": draft.knockouts.get().pk,
        "criterion": draft.criteria.get(name="Revenue potential").pk,
        "attribute": workplaces.pk,
        "missing": 999_999,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


def _version(pk: int) -> CriteriaVersion:
    return CriteriaVersion.objects.get(pk=pk)


# Criteria sets ------------------------------------------------------------------------------


def test_creating_a_set_starts_a_draft_with_the_chosen_tiers(client, cast):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:criteria-set-create"),
        {"name": "Premium customers", "description": "For 2027", "preset": "premier_league"},
    )

    version = CriteriaSet.objects.get(name="Premium customers").versions.get()
    assert response.status_code == 302
    assert response["Location"] == version.get_absolute_url()
    assert version.state == VersionState.DRAFT
    assert list(version.tiers.values_list("name", flat=True)) == ["Premier", "1. Liga", "2. Liga"]


def test_a_duplicate_set_name_is_refused_with_the_input_kept(client, cast, released_version):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:criteria-set-create"),
        {"name": "Key accounts", "description": "my words", "preset": "gold_silver_bronze"},
    )

    assert response.status_code == 200
    assert response.context["form"].has_error("name")
    assert "my words" in response.content.decode()
    assert CriteriaSet.objects.count() == 1


def test_set_list_and_detail_show_versions(client, cast, released_version, draft):
    client.force_login(cast.viewer)

    listing = client.get(reverse("selection:criteria-set-list")).content.decode()
    detail = client.get(
        reverse("selection:criteria-set-detail", args=[released_version.criteria_set_id])
    ).content.decode()

    assert released_version.get_absolute_url() in listing
    assert draft.get_absolute_url() in listing
    assert reverse("selection:criteria-set-create") not in listing
    assert draft.get_absolute_url() in detail
    assert released_version.get_absolute_url() in detail


def test_set_list_queries_do_not_grow_with_the_sets(client, cast):
    def make_sets(start: int, count: int) -> None:
        for index in range(start, start + count):
            criteria_set = services.criteria_set_create(name=f"Set {index}", user=cast.leadership)
            version = criteria_set.versions.get()
            services.criterion_save(
                version=version,
                revision=version.revision,
                name="Potential",
                source="potential_revenue",
                method="bands",
                weight=Decimal(1),
                bands=[(Decimal(0), Decimal(5))],
            )
            services.version_release(
                version=version, revision=version.revision, user=cast.leadership
            )

    client.force_login(cast.leadership)
    make_sets(0, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("selection:criteria-set-list"))
    make_sets(2, 18)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("selection:criteria-set-list"))

    assert len(response.context["sets"]) == 20
    assert len(many) == len(few)


# Versions -----------------------------------------------------------------------------------


def test_version_page_shows_groups_shares_and_draft_controls(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.get(draft.get_absolute_url())

    page = response.content.decode()
    shares = [row.share for row in response.context["outline"].criteria]
    assert shares == [Decimal("75.0"), Decimal("25.0")]
    assert "More than 1,000 IT workplaces" in page
    assert reverse("selection:version-release", args=[draft.pk]) in page
    assert f'name="revision" value="{draft.revision}"' in page
    assert reverse("selection:knockout-create", args=[draft.pk]) in page


def test_released_version_offers_a_draft_not_edits(client, cast, released_version):
    client.force_login(cast.leadership)

    page = client.get(released_version.get_absolute_url()).content.decode()

    assert reverse("selection:version-draft", args=[released_version.pk]) in page
    assert reverse("selection:version-weights", args=[released_version.pk]) not in page
    assert reverse("selection:knockout-create", args=[released_version.pk]) not in page


def test_readers_see_no_edit_controls_on_a_draft(client, cast, draft):
    client.force_login(cast.finance)

    page = client.get(draft.get_absolute_url()).content.decode()

    assert reverse("selection:version-release", args=[draft.pk]) not in page
    assert reverse("selection:version-settings", args=[draft.pk]) not in page


def test_version_page_queries_do_not_grow_with_the_criteria(client, cast, draft):
    client.force_login(cast.leadership)

    def add_criteria(count: int) -> None:
        for index in range(count):
            version = _version(draft.pk)
            services.criterion_save(
                version=version,
                revision=version.revision,
                name=f"Criterion {index}",
                source="share_of_wallet",
                method="bands",
                weight=Decimal(1),
                bands=[(Decimal(0), Decimal(1)), (Decimal(50), Decimal(8))],
            )
            version = _version(draft.pk)
            services.knockout_save(
                version=version,
                revision=version.revision,
                name=f"K.O. {index}",
                group=index + 2,
                source="buying_center_size",
                operator="gte",
                threshold=Decimal(1),
            )

    with CaptureQueriesContext(connection) as few:
        client.get(draft.get_absolute_url())
    add_criteria(10)
    with CaptureQueriesContext(connection) as many:
        response = client.get(draft.get_absolute_url())

    assert len(response.context["outline"].criteria) == 12
    assert len(many) == len(few)


def test_starting_a_draft_copies_the_released_version(client, cast, released_version):
    client.force_login(cast.leadership)

    response = client.post(reverse("selection:version-draft", args=[released_version.pk]))

    draft = released_version.criteria_set.versions.get(state=VersionState.DRAFT)
    assert response["Location"] == draft.get_absolute_url()
    assert draft.number == 2
    assert draft.criteria.count() == 2
    assert draft.knockouts.count() == 1


def test_settings_are_saved(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:version-settings", args=[draft.pk]),
        {"revision": draft.revision, "unknown_rule": "pass", "change_note": "Unknown passes"},
    )

    version = _version(draft.pk)
    assert response.status_code == 302
    assert version.unknown_rule == "pass"
    assert version.change_note == "Unknown passes"
    assert version.revision == draft.revision + 1


def test_a_stale_revision_is_refused_and_the_input_kept(client, cast, draft):
    client.force_login(cast.leadership)
    services.version_settings_update(
        version=draft, revision=draft.revision, unknown_rule="fail", change_note="theirs"
    )

    response = client.post(
        reverse("selection:version-settings", args=[draft.pk]),
        {"revision": draft.revision - 1, "unknown_rule": "pass", "change_note": "mine"},
    )

    form = response.context["form"]
    assert response.status_code == 200
    assert [e.code for e in form.non_field_errors().as_data()] == ["edit_conflict"]
    assert 'value="mine"' in response.content.decode()
    assert form.data["revision"] == draft.revision  # the next save starts from now
    assert _version(draft.pk).change_note == "theirs"


def test_released_versions_cannot_be_edited(client, cast, released_version):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:version-settings", args=[released_version.pk]),
        {"revision": released_version.revision, "unknown_rule": "pass", "change_note": "x"},
    )

    assert response.status_code == 302
    assert response["Location"] == released_version.get_absolute_url()
    assert _version(released_version.pk).unknown_rule == "fail"


def _tier_post(revision: int, tiers: list[tuple[str, str, str]], deleted=()) -> dict:
    data = {
        "revision": revision,
        "tiers-TOTAL_FORMS": len(tiers),
        "tiers-INITIAL_FORMS": 0,
        "tiers-MIN_NUM_FORMS": 0,
        "tiers-MAX_NUM_FORMS": 10,
    }
    for index, (name, score, colour) in enumerate(tiers):
        data |= {
            f"tiers-{index}-name": name,
            f"tiers-{index}-min_score": score,
            f"tiers-{index}-colour": colour,
        }
        if index in deleted:
            data[f"tiers-{index}-DELETE"] = "on"
    return data


def test_tiers_are_replaced_in_the_given_order(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:version-tiers", args=[draft.pk]),
        _tier_post(
            draft.revision,
            [("Premium", "8,5", "#112233"), ("Old", "7", "#000000"), ("Standard", "5", "#445566")],
            deleted={1},
        ),
    )

    assert response.status_code == 302
    tiers = list(draft.tiers.order_by("rank").values_list("rank", "name", "min_score", "colour"))
    assert tiers == [
        (1, "Premium", Decimal("8.50"), "#112233"),
        (2, "Standard", Decimal("5.00"), "#445566"),
    ]


def test_a_cleared_tier_row_is_removed(client, cast, draft):
    client.force_login(cast.leadership)

    client.post(
        reverse("selection:version-tiers", args=[draft.pk]),
        _tier_post(draft.revision, [("Gold", "7", "#b8860b"), ("", "", "#6c757d")]),
    )

    assert list(draft.tiers.values_list("name", flat=True)) == ["Gold"]


def test_tiers_out_of_order_are_refused(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:version-tiers", args=[draft.pk]),
        _tier_post(draft.revision, [("Low", "3", "#112233"), ("High", "8", "#445566")]),
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors().as_data()[0].code == "tier_order"
    assert 'value="High"' in response.content.decode()
    assert list(draft.tiers.values_list("name", flat=True)) == ["Gold", "Silver", "Bronze"]


def test_a_knockout_criterion_is_added_to_the_draft(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:knockout-create", args=[draft.pk]),
        {
            "revision": draft.revision,
            "name": "Enough requests",
            "group": 1,
            "source": "buying_center_size",
            "operator": "gte",
            "threshold": "5",
        },
    )

    assert response.status_code == 302
    created = draft.knockouts.get(name="Enough requests")
    assert (created.group, created.operator, created.threshold) == (1, "gte", Decimal(5))


def test_a_comparison_without_threshold_is_refused(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:knockout-create", args=[draft.pk]),
        {
            "revision": draft.revision,
            "name": "No threshold",
            "group": 2,
            "source": "buying_center_size",
            "operator": "gt",
            "threshold": "",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].has_error("threshold")
    assert 'value="No threshold"' in response.content.decode()
    assert draft.knockouts.count() == 1


def test_a_knockout_criterion_is_changed(client, cast, draft):
    client.force_login(cast.leadership)
    knockout = draft.knockouts.get()

    client.post(
        reverse("selection:knockout-edit", args=[knockout.pk]),
        {
            "revision": draft.revision,
            "name": "More than 2,000 IT workplaces",
            "group": 1,
            "source": "attribute:it_workplaces",
            "operator": "gt",
            "threshold": "2.000",
        },
    )

    knockout.refresh_from_db()
    assert knockout.name == "More than 2,000 IT workplaces"
    assert knockout.threshold == Decimal(2000)


def test_deleting_asks_first_then_removes(client, cast, draft):
    client.force_login(cast.leadership)
    knockout = draft.knockouts.get()
    url = reverse("selection:knockout-delete", args=[knockout.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert KnockoutCriterion.objects.filter(pk=knockout.pk).exists()

    response = client.post(url, {"revision": draft.revision})

    assert response.status_code == 302
    assert not KnockoutCriterion.objects.filter(pk=knockout.pk).exists()


def test_a_scored_criterion_is_deleted(client, cast, draft):
    client.force_login(cast.leadership)
    criterion = draft.criteria.get(name="IT workplaces")

    client.post(
        reverse("selection:criterion-delete", args=[criterion.pk]), {"revision": draft.revision}
    )

    assert not ScoredCriterion.objects.filter(pk=criterion.pk).exists()


def _criterion_post(revision: int, method: str, bands: list[tuple[str, str]], **values) -> dict:
    data = {
        "revision": revision,
        "name": "Share of wallet",
        "source": "share_of_wallet",
        "method": method,
        "weight": "2",
        "bands-TOTAL_FORMS": len(bands) + 1,
        "bands-INITIAL_FORMS": 0,
        "bands-MIN_NUM_FORMS": 0,
        "bands-MAX_NUM_FORMS": 30,
        **values,
    }
    for index, (value, points) in enumerate(bands):
        data[f"bands-{index}-min_value"] = value
        data[f"bands-{index}-points"] = points
    return data


def test_a_scored_criterion_is_added_with_its_bands(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:criterion-create", args=[draft.pk]),
        _criterion_post(draft.revision, "bands", [("50", "10"), ("0", "2"), ("25,5", "6")]),
    )

    assert response.status_code == 302
    created = draft.criteria.get(name="Share of wallet")
    assert created.weight == Decimal(2)
    assert list(created.bands.values_list("min_value", "points")) == [
        (Decimal(0), Decimal(2)),
        (Decimal("25.5"), Decimal(6)),
        (Decimal(50), Decimal(10)),
    ]


def test_bands_are_required_for_band_scoring(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:criterion-create", args=[draft.pk]),
        _criterion_post(draft.revision, "bands", []),
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'value="Share of wallet"' in response.content.decode()
    assert draft.criteria.count() == 2


def test_points_beyond_ten_are_refused(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:criterion-create", args=[draft.pk]),
        _criterion_post(draft.revision, "bands", [("0", "11")]),
    )

    assert response.status_code == 200
    assert response.context["bands"].forms[0].has_error("points")
    assert draft.criteria.count() == 2


def test_a_scored_criterion_is_changed(client, cast, draft):
    client.force_login(cast.leadership)
    criterion = draft.criteria.get(name="IT workplaces")

    client.post(
        reverse("selection:criterion-edit", args=[criterion.pk]),
        _criterion_post(draft.revision, "direct", [], name="Rating", weight="4"),
    )

    criterion.refresh_from_db()
    assert (criterion.name, criterion.method, criterion.weight) == ("Rating", "direct", 4)
    assert not criterion.bands.exists()


def test_weights_are_saved_and_can_go_on_to_the_preview(client, cast, draft):
    client.force_login(cast.leadership)
    revenue, seats = draft.criteria.order_by("position")

    response = client.post(
        reverse("selection:version-weights", args=[draft.pk]),
        {
            "revision": draft.revision,
            f"weight_{revenue.pk}": "1",
            f"weight_{seats.pk}": "9",
            "preview": "1",
        },
    )

    assert response["Location"] == reverse("selection:version-preview", args=[draft.pk])
    revenue.refresh_from_db()
    seats.refresh_from_db()
    assert (revenue.weight, seats.weight) == (1, 9)


def test_a_zero_weight_is_refused_on_the_version_page(client, cast, draft):
    client.force_login(cast.leadership)
    revenue, seats = draft.criteria.order_by("position")

    response = client.post(
        reverse("selection:version-weights", args=[draft.pk]),
        {"revision": draft.revision, f"weight_{revenue.pk}": "0", f"weight_{seats.pk}": "7"},
    )

    assert response.status_code == 200
    assert response.context["weights_form"].has_error(f"weight_{revenue.pk}")
    assert 'value="7"' in response.content.decode()
    revenue.refresh_from_db()
    assert revenue.weight == 3


def test_release_freezes_the_draft(client, cast, draft):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:version-release", args=[draft.pk]),
        {"revision": draft.revision, "change_note": "More weight on workplaces"},
    )

    version = _version(draft.pk)
    assert response["Location"] == draft.get_absolute_url()
    assert version.state == VersionState.RELEASED
    assert version.released_by == cast.leadership
    assert version.change_note == "More weight on workplaces"


def test_a_stale_release_is_refused(client, cast, draft):
    client.force_login(cast.leadership)
    services.version_settings_update(
        version=draft, revision=draft.revision, unknown_rule="pass", change_note=""
    )

    response = client.post(
        reverse("selection:version-release", args=[draft.pk]),
        {"revision": draft.revision - 1, "change_note": "mine"},
    )

    assert response.status_code == 200
    assert response.context["release_form"].non_field_errors().as_data()[0].code == (
        "edit_conflict"
    )
    assert _version(draft.pk).state == VersionState.DRAFT


# Preview ------------------------------------------------------------------------------------


def test_preview_shows_movements_and_writes_nothing(client, cast, approved_run, draft):
    revenue, seats = draft.criteria.order_by("position")
    services.weights_update(
        version=draft, revision=draft.revision, weights={revenue.pk: Decimal(1), seats.pk: 9}
    )
    client.force_login(cast.leadership)
    runs, results = SelectionRun.objects.count(), SelectionResult.objects.count()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("selection:version-preview", args=[draft.pk]))

    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    writes = [sql for sql in writes if "django_session" not in sql]
    assert writes == []
    assert (SelectionRun.objects.count(), SelectionResult.objects.count()) == (runs, results)
    preview = response.context["preview"]
    assert preview.change_count == 1
    assert preview.changes[0].name == cast.account.name
    assert (preview.changes[0].current, preview.changes[0].proposed) == ("Gold", "Silver")
    assert "Brandt Maschinenbau GmbH" in response.content.decode()


def test_version_preview_counts_the_matrix(cast, approved_run, draft):
    revenue, seats = draft.criteria.order_by("position")
    services.weights_update(
        version=draft, revision=draft.revision, weights={revenue.pk: Decimal(1), seats.pk: 9}
    )
    AccountFactory(name="Third account")  # no values: K.O. unknown, no tier today

    preview = version_preview(_version(draft.pk))

    assert preview.account_count == 3
    assert [(c.tier.name if c.tier else None, c.count) for c in preview.columns] == [
        ("Gold", 0),
        ("Silver", 1),
        ("Bronze", 0),
        (None, 2),
    ]
    assert [(r.rank, r.label, r.counts) for r in preview.rows] == [
        (1, "Gold", [0, 1, 0, 0]),
        (0, "", [0, 0, 0, 2]),
    ]
    assert (preview.knockout_failed, preview.knockout_unknown, preview.unknown_kept) == (1, 1, 0)
    assert dict(preview.movements)["down"] == 1


# Attributes ---------------------------------------------------------------------------------


def test_an_attribute_is_created(client, cast):
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:attribute-create"),
        {"name": "Customer requests", "key": "requests", "data_type": "number", "unit": "/month"},
    )

    assert response.status_code == 302
    assert AccountAttribute.objects.get(key="requests").unit == "/month"


def test_attribute_keys_are_unique_and_slugs(client, cast, workplaces):
    client.force_login(cast.leadership)

    duplicate = client.post(
        reverse("selection:attribute-create"),
        {"name": "Seats", "key": "it_workplaces", "data_type": "number"},
    )
    not_a_slug = client.post(
        reverse("selection:attribute-create"),
        {"name": "Seats", "key": "IT seats!", "data_type": "number"},
    )

    assert duplicate.context["form"].has_error("key")
    assert not_a_slug.context["form"].has_error("key")
    assert 'value="Seats"' in duplicate.content.decode()
    assert AccountAttribute.objects.count() == 1


def test_a_key_in_use_stays(client, cast, workplaces):
    services.attribute_value_set(
        account=cast.account, attribute=workplaces, number=Decimal(5), user=cast.leadership
    )
    client.force_login(cast.leadership)

    client.post(
        reverse("selection:attribute-edit", args=[workplaces.pk]),
        {
            "name": "Workplaces",
            "key": "renamed",
            "data_type": "yes_no",
            "unit": "PCs",
            "version": 1,
        },
    )

    workplaces.refresh_from_db()
    assert (workplaces.name, workplaces.key, workplaces.unit) == (
        "Workplaces",
        "it_workplaces",
        "PCs",
    )
    assert workplaces.data_type == "number"


def test_an_unused_key_can_change(client, cast, workplaces):
    client.force_login(cast.leadership)

    client.post(
        reverse("selection:attribute-edit", args=[workplaces.pk]),
        {"name": "Workplaces", "key": "seats", "data_type": "number", "version": 1},
    )

    workplaces.refresh_from_db()
    assert workplaces.key == "seats"


def test_attribute_list_queries_do_not_grow(client, cast):
    client.force_login(cast.viewer)

    def make(start: int, count: int) -> None:
        for index in range(start, start + count):
            attribute = AccountAttribute.objects.create(key=f"a{index}", name=f"Attribute {index}")
            AccountAttributeValue.objects.create(
                account=cast.account, attribute=attribute, number=index
            )

    make(0, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("selection:attribute-list"))
    make(2, 18)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("selection:attribute-list"))

    assert len(response.context["attributes"]) == 20
    assert len(many) == len(few)
