"""Run pages: list, start, review with overrides, approval, discard, exports, tier changes."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import TeamRole
from kam.concurrency import EditConflict
from kam.models import Job, Notification
from selection import services
from selection.models import (
    KnockoutOutcome,
    RunState,
    SelectionResult,
    SelectionRun,
    TierChange,
    TierOverride,
)
from tests.access import ROLES, Row, check_access
from tests.factories import AccountFactory, TeamMemberFactory, UserFactory
from tests.selection.conftest import compute

READ = {"leadership": 200, "finance": 200, "viewer": 200, "admin": 200}
MANAGE = {"leadership": 200, "admin": 200}
MANAGE_REDIRECT = {"leadership": 302, "admin": 302}

MATRIX = (
    Row("run list", "get", "selection:run-list", 403, READ),
    Row("run create page", "get", "selection:run-create", 403, MANAGE),
    Row("run create", "post", "selection:run-create", 403, MANAGE),
    Row("run detail", "get", "selection:run-detail {run}", 403, READ),
    Row(
        "run detail missing", "get", "selection:run-detail {missing}", 403, dict.fromkeys(READ, 404)
    ),
    Row("run export csv", "get", "selection:run-export {run} csv", 403, READ),
    Row("run export xlsx", "get", "selection:run-export {run} xlsx", 403, READ),
    Row(
        "run export other format",
        "get",
        "selection:run-export {run} pdf",
        403,
        dict.fromkeys(READ, 404),
    ),
    Row("run approve", "post", "selection:run-approve {run}", 403, MANAGE_REDIRECT),
    Row("run approve by GET", "get", "selection:run-approve {run}", 405),
    Row("run discard", "post", "selection:run-discard {run}", 403, MANAGE_REDIRECT),
    Row("run discard by GET", "get", "selection:run-discard {run}", 405),
    Row("result detail", "get", "selection:result-detail {run} {account}", 403, READ),
    Row(
        "result detail outside the run",
        "get",
        "selection:result-detail {run} {missing}",
        403,
        dict.fromkeys(READ, 404),
    ),
    Row("result override", "post", "selection:result-override {run} {account}", 403, MANAGE),
    Row("result override by GET", "get", "selection:result-override {run} {account}", 405),
    Row("tier change list", "get", "selection:tier-change-list", 200, {"no_role": 403}),
)


@pytest.fixture
def objects(cast, ready_run):
    return {"run": ready_run.pk, "account": cast.account.pk, "missing": 999_999}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_access_matrix(client, cast, objects, row: Row, role: str) -> None:
    check_access(client, cast, objects, row, role)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _detail(run: SelectionRun) -> str:
    return reverse("selection:run-detail", args=[run.pk])


def _result(run: SelectionRun, account) -> str:
    return reverse("selection:result-detail", args=[run.pk, account.pk])


def _override(run: SelectionRun, account) -> str:
    return reverse("selection:result-override", args=[run.pk, account.pk])


# Starting a run ------------------------------------------------------------------------------


def test_run_create_lists_released_versions_and_starts_a_segment_run(
    client, cast, released_version
) -> None:
    client.force_login(cast.leadership)
    page = client.get(reverse("selection:run-create"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Key accounts, version 1" in page.text

    response = client.post(
        reverse("selection:run-create"),
        {"version": released_version.pk, "region": "south", "industry": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    run = SelectionRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(run)
    assert run.version == released_version
    assert run.created_by == cast.leadership
    assert run.segment == {"region": "south"}
    assert run.segment_label == "Region: South"
    assert run.job.kind == Job.Kind.SELECTION_RUN


def test_run_create_refuses_an_unknown_version_and_keeps_the_segment(
    client, cast, released_version
) -> None:
    client.force_login(cast.leadership)

    response = client.post(reverse("selection:run-create"), {"version": 999_999, "region": "north"})

    assert response.status_code == 200
    assert "version" in response.context["form"].errors
    assert response.context["form"]["region"].value() == "north"
    assert not SelectionRun.objects.exists()


def test_computing_run_shows_progress_and_htmx_refreshes_once_ready(
    client, cast, released_version
) -> None:
    run = services.selection_run_start(version=released_version, user=cast.leadership)
    # Shown as running halfway; no heartbeat, so compute() below may claim it as a worker
    # taking over a silent job does (a fresh heartbeat would mean another worker has it).
    Job.objects.filter(pk=run.job_id).update(
        state=Job.State.RUNNING,
        progress=50,
        progress_message="Storing the results",
        heartbeat_at=None,
    )
    client.force_login(cast.viewer)

    page = client.get(_detail(run))
    listed = client.get(reverse("selection:run-list"))
    polled = client.get(_detail(run), HTTP_HX_REQUEST="true")

    assert 'id="run-progress"' in page.text
    assert f'data-hx-get="{_detail(run)}"' in page.text
    assert 'value="50"' in page.text
    assert f'data-hx-get="{_detail(run)}?compact=1"' in listed.text
    assert polled.status_code == 200
    assert "Storing the results" in polled.text
    assert "<html" not in polled.text

    compute(run)
    done = client.get(_detail(run), HTTP_HX_REQUEST="true")

    assert done.status_code == 204
    assert done["HX-Refresh"] == "true"


# The run page --------------------------------------------------------------------------------


def test_run_detail_shows_distribution_movements_and_results(client, cast, ready_run) -> None:
    client.force_login(cast.viewer)

    response = client.get(_detail(ready_run), HTTP_ACCEPT_LANGUAGE="en")

    overview = response.context["overview"]
    counts = {row.tier.name if row.tier else None: row.count for row in overview.distribution}
    assert counts == {"Gold": 1, "Silver": 0, "Bronze": 0, None: 1}
    assert dict(overview.movements)["new"] == 1
    assert [(row.name, row.cells) for row in overview.matrix] == [("", [1, 0, 0, 1])]
    assert '<svg class="w-100 h-auto"' in response.text
    assert 'role="img"' in response.text
    assert {r.account for r in response.context["results"]} == {cast.account, cast.other_account}
    assert "Approve" not in response.text  # a viewer reviews, only leadership approves


def test_run_detail_counts_tiers_with_overrides(client, cast, ready_run) -> None:
    for account, rank in ((cast.account, None), (cast.other_account, 3)):
        result = SelectionResult.objects.get(run=ready_run, account=account)
        services.tier_override_set(result=result, rank=rank, reason="Test", user=cast.leadership)
    client.force_login(cast.leadership)

    response = client.get(_detail(ready_run))

    overview = response.context["overview"]
    after = {
        row.tier.name if row.tier else None: row.after_overrides for row in overview.distribution
    }
    assert after == {"Gold": 0, "Silver": 0, "Bronze": 1, None: 1}
    assert overview.overrides == 2
    assert _listed(client, ready_run, {"override": "yes"}) != []


def test_run_detail_offers_approval_and_discard_to_leadership(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)

    response = client.get(_detail(ready_run), HTTP_ACCEPT_LANGUAGE="en")

    assert reverse("selection:run-approve", args=[ready_run.pk]) in response.text
    assert reverse("selection:run-discard", args=[ready_run.pk]) in response.text
    assert "older_version_confirmed" not in response.text


# Overrides -----------------------------------------------------------------------------------


def test_override_is_stored_with_reason_and_user(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)

    response = client.post(
        _override(ready_run, cast.account),
        {"rank": "2", "reason": "Strategic partner", "version": "0"},
    )

    assert response.status_code == 302
    assert response["Location"] == _result(ready_run, cast.account)
    override = TierOverride.objects.get(result__run=ready_run, result__account=cast.account)
    assert (override.rank, override.tier) == (2, "Silver")
    assert override.reason == "Strategic partner"
    assert override.created_by == cast.leadership
    page = client.get(_result(ready_run, cast.account), HTTP_ACCEPT_LANGUAGE="en")
    assert "Strategic partner" in page.text
    assert "Remove override" in page.text


def test_override_to_not_a_key_account(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)

    client.post(
        _override(ready_run, cast.account), {"rank": "none", "reason": "Insolvent", "version": "0"}
    )

    override = TierOverride.objects.get()
    assert (override.rank, override.tier) == (None, "")


@pytest.mark.parametrize("reason", ["", "   "])
def test_override_without_reason_is_refused_and_keeps_the_input(
    client, cast, ready_run, reason
) -> None:
    client.force_login(cast.leadership)

    response = client.post(
        _override(ready_run, cast.account),
        {"rank": "3", "reason": reason},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Give a reason for the override."]
    assert response.context["form"]["rank"].value() == "3"
    assert "Give a reason for the override." in response.text
    assert not TierOverride.objects.exists()


def test_override_with_an_unknown_tier_is_refused(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)

    response = client.post(_override(ready_run, cast.account), {"rank": "9", "reason": "x"})

    assert response.status_code == 200
    assert "rank" in response.context["form"].errors
    assert not TierOverride.objects.exists()


def test_override_is_removed(client, cast, ready_run) -> None:
    result = SelectionResult.objects.get(run=ready_run, account=cast.account)
    services.tier_override_set(result=result, rank=3, reason="Test", user=cast.leadership)
    client.force_login(cast.leadership)

    response = client.post(_override(ready_run, cast.account), {"remove": "1"}, follow=True)

    assert not TierOverride.objects.exists()
    assert response.status_code == 200


def test_a_removal_from_a_stale_page_is_refused_and_a_gone_override_is_no_error(
    client, cast, ready_run
) -> None:
    result = SelectionResult.objects.get(run=ready_run, account=cast.account)
    services.tier_override_set(result=result, rank=3, reason="Test", user=cast.leadership)
    # Someone else changes the override after this user's page showed version 1.
    services.tier_override_set(
        result=result, rank=2, reason="Strategic", user=cast.admin, version=1
    )
    client.force_login(cast.leadership)

    refused = client.post(
        _override(ready_run, cast.account),
        {"remove": "1", "version": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert _messages(refused) == [
        "Someone changed this entry after you opened the page, so it was not deleted. "
        "Check it and delete it again if it should go."
    ]
    assert TierOverride.objects.get().reason == "Strategic"
    client.post(_override(ready_run, cast.account), {"remove": "1", "version": "2"})
    assert not TierOverride.objects.exists()
    gone = client.post(
        _override(ready_run, cast.account), {"remove": "1", "version": "2"}, follow=True
    )
    assert gone.status_code == 200


def test_an_override_set_since_the_page_opened_is_listed_as_theirs(cast, ready_run) -> None:
    result = SelectionResult.objects.get(run=ready_run, account=cast.account)
    services.tier_override_set(result=result, rank=2, reason="Strategic", user=cast.admin)

    with pytest.raises(EditConflict) as conflict:
        services.tier_override_set(
            result=result, rank=3, reason="Mine", user=cast.leadership, version=0
        )

    changes = [(c.name, c.theirs, c.current) for c in conflict.value.changes]
    assert changes == [("tier", "–", "Silver"), ("reason", "–", "Strategic")]
    assert TierOverride.objects.get().version == 1


def test_override_of_an_approved_run_is_refused_with_a_message(client, cast, approved_run) -> None:
    client.force_login(cast.leadership)

    response = client.post(
        _override(approved_run, cast.account),
        {"rank": "2", "reason": "Too late", "version": "0"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert _messages(response) == ["Only a run under review can be changed."]
    assert not TierOverride.objects.exists()
    page = client.get(_result(approved_run, cast.account))
    assert page.context["form"] is None


# Approval and discard ------------------------------------------------------------------------


def test_approve_applies_tiers_writes_history_and_notifies_the_kam(client, cast, ready_run) -> None:
    cast.other_account.tier, cast.other_account.tier_rank = "Bronze", 3
    cast.other_account.save()
    run = compute(services.selection_run_start(version=ready_run.version, user=cast.leadership))
    services.selection_run_discard(run=ready_run)
    result = SelectionResult.objects.get(run=run, account=cast.account)
    services.tier_override_set(result=result, rank=2, reason="Only Silver", user=cast.leadership)
    client.force_login(cast.leadership)

    response = client.post(
        reverse("selection:run-approve", args=[run.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert _messages(response) == ["The run has been approved: 2 accounts changed tier."]
    run.refresh_from_db()
    assert run.state == RunState.APPROVED
    assert run.is_current
    assert run.approved_by == cast.leadership
    cast.account.refresh_from_db()
    cast.other_account.refresh_from_db()
    assert (cast.account.tier, cast.account.tier_rank) == ("Silver", 2)
    assert (cast.other_account.tier, cast.other_account.tier_rank) == ("", None)
    changes = {c.account: c for c in TierChange.objects.filter(run=run)}
    assert changes[cast.account].to_tier == "Silver"
    assert changes[cast.account].reason == "Only Silver"
    assert changes[cast.other_account].from_tier == "Bronze"
    notification = Notification.objects.get(user=cast.kam)
    assert notification.url == f"{reverse('selection:tier-change-list')}?run={run.pk}"


def test_approving_twice_is_refused_with_a_message(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)
    url = reverse("selection:run-approve", args=[ready_run.pk])
    client.post(url, follow=True)

    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert _messages(response) == ["Only a run ready for review can be approved."]
    assert TierChange.objects.count() == 1
    assert Notification.objects.filter(user=cast.kam).count() == 1


def test_approving_a_run_of_an_older_version_needs_the_confirmation(
    client, cast, ready_run, released_version
) -> None:
    draft = services.version_draft_start(version=released_version, user=cast.leadership)
    services.version_release(version=draft, revision=draft.revision, user=cast.leadership)
    client.force_login(cast.leadership)
    url = reverse("selection:run-approve", args=[ready_run.pk])

    page = client.get(_detail(ready_run), HTTP_ACCEPT_LANGUAGE="en")
    refused = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert 'name="older_version_confirmed"' in page.text
    assert "I approve this run of an older criteria version deliberately" in page.text
    assert _messages(refused) == [
        "A newer version of these criteria exists. Confirm that you approve the run of the "
        "older version deliberately."
    ]
    ready_run.refresh_from_db()
    assert ready_run.state == RunState.READY

    client.post(url, {"older_version_confirmed": "on"})

    ready_run.refresh_from_db()
    assert ready_run.state == RunState.APPROVED


def test_discard_sets_the_run_aside(client, cast, ready_run) -> None:
    client.force_login(cast.leadership)
    url = reverse("selection:run-discard", args=[ready_run.pk])

    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    again = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    ready_run.refresh_from_db()
    assert ready_run.state == RunState.DISCARDED
    assert _messages(response) == ["The run has been discarded."]
    assert _messages(again) == ["Only a run ready for review can be discarded."]
    assert not TierChange.objects.exists()
    assert "run-approve" not in client.get(_detail(ready_run)).text


# Filters -------------------------------------------------------------------------------------


@pytest.fixture
def mixed_run(cast, released_version, workplaces):
    """Gold ``cast.account``, K.O.-failed ``other_account``, an unknown, an override."""
    unknown = AccountFactory(name="Ohne Daten AG", erp_number="U-1")
    run = compute(services.selection_run_start(version=released_version, user=cast.leadership))
    result = SelectionResult.objects.get(run=run, account=cast.other_account)
    services.tier_override_set(result=result, rank=3, reason="Pilot", user=cast.leadership)
    return run, unknown


def _listed(client, run: SelectionRun, params: dict) -> list[str]:
    response = client.get(_detail(run), params)
    assert response.status_code == 200
    return [result.account.name for result in response.context["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Brandt Maschinenbau GmbH", "Lorenz Logistik SE", "Ohne Daten AG"]),
        ({"tier": "1"}, ["Brandt Maschinenbau GmbH"]),
        ({"tier": "2"}, []),
        ({"tier": "none"}, ["Lorenz Logistik SE", "Ohne Daten AG"]),
        ({"movement": "new"}, ["Brandt Maschinenbau GmbH"]),
        ({"movement": "none"}, ["Lorenz Logistik SE", "Ohne Daten AG"]),
        ({"knockout": "failed"}, ["Lorenz Logistik SE"]),
        ({"knockout": "unknown"}, ["Ohne Daten AG"]),
        ({"q": "brandt"}, ["Brandt Maschinenbau GmbH"]),
        ({"q": "u-1"}, ["Ohne Daten AG"]),
        ({"override": "yes"}, ["Lorenz Logistik SE"]),
        ({"override": "no"}, ["Brandt Maschinenbau GmbH", "Ohne Daten AG"]),
        ({"sort": "-account"}, ["Ohne Daten AG", "Lorenz Logistik SE", "Brandt Maschinenbau GmbH"]),
        ({"tier": "bogus"}, ["Brandt Maschinenbau GmbH", "Lorenz Logistik SE", "Ohne Daten AG"]),
    ],
)
def test_result_filters(client, cast, mixed_run, params, expected) -> None:
    run, _unknown = mixed_run
    client.force_login(cast.viewer)

    listed = _listed(client, run, params)

    if "sort" in params:
        assert listed == expected
    else:
        assert sorted(listed) == sorted(expected)


def test_knockout_criterion_filter_offers_the_versions_criteria(client, cast, mixed_run) -> None:
    run, unknown = mixed_run
    knockout = run.version.knockouts.get()
    client.force_login(cast.viewer)

    response = client.get(_detail(run), {"failed_knockout": knockout.pk})

    choices = dict(response.context["filterset"].form.fields["failed_knockout"].choices)
    assert choices[str(knockout.pk)] == "More than 1,000 IT workplaces"
    outcomes = {r.account: r.knockout for r in response.context["results"]}
    assert outcomes == {
        cast.other_account: KnockoutOutcome.FAILED,
        unknown: KnockoutOutcome.UNKNOWN,
    }


def test_default_order_is_tier_then_score(client, cast, mixed_run) -> None:
    run, _unknown = mixed_run
    client.force_login(cast.viewer)

    assert _listed(client, run, {})[0] == "Brandt Maschinenbau GmbH"


# Exports -------------------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _xlsx_rows(response) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    return [
        [cell.value if cell.value is not None else "" for cell in row] for row in sheet.iter_rows()
    ]


HEADER = [
    "Account",
    "ERP customer number",
    "K.O. check",
    "K.O. criterion failed",
    "Score",
    "Proposed tier",
    "Override",
    "Override reason",
    "Tier before",
    "Movement",
]


def test_csv_export_holds_the_filtered_rows(client, cast, mixed_run) -> None:
    run, _unknown = mixed_run
    cast.other_account.name = "=HYPERLINK(1)"
    cast.other_account.save()
    client.force_login(cast.finance)

    response = client.get(
        reverse("selection:run-export", args=[run.pk, "csv"]),
        {"knockout": "failed"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response["Content-Disposition"].startswith(
        f'attachment; filename="selection-run-{run.pk}-'
    )
    rows = _csv_rows(response)
    assert rows == [
        HEADER,
        [
            "'=HYPERLINK(1)",
            cast.other_account.erp_number,
            "Failed",
            "More than 1,000 IT workplaces",
            "0.00",
            "Not a key account",
            "Bronze",
            "Pilot",
            "",
            "Not a key account",
        ],
    ]


def test_csv_export_writes_the_german_decimal_comma(client, cast, mixed_run) -> None:
    run, _unknown = mixed_run
    client.force_login(cast.leadership)

    response = client.get(
        reverse("selection:run-export", args=[run.pk, "csv"]),
        {"tier": "1"},
        HTTP_ACCEPT_LANGUAGE="de",
    )

    rows = _csv_rows(response)
    assert rows[1][0] == "Brandt Maschinenbau GmbH"
    assert rows[1][4] == "9,00"


def test_xlsx_export_holds_the_rows_in_the_table_order_with_numeric_scores(
    client, cast, mixed_run
) -> None:
    run, _unknown = mixed_run
    client.force_login(cast.leadership)
    listed = _listed(client, run, {"sort": "-score"})

    response = client.get(
        reverse("selection:run-export", args=[run.pk, "xlsx"]),
        {"sort": "-score"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    rows = _xlsx_rows(response)
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == listed
    assert rows[1][4] == pytest.approx(9.0)
    assert rows[1][5] == "Gold"


# Tier changes --------------------------------------------------------------------------------


@pytest.fixture
def two_changes(cast, released_version):
    cast.other_account.tier, cast.other_account.tier_rank = "Bronze", 3
    cast.other_account.save()
    run = compute(services.selection_run_start(version=released_version, user=cast.leadership))
    services.selection_run_approve(run=run, user=cast.leadership)
    return run


def _changed_accounts(client, params: dict | None = None) -> set[str]:
    response = client.get(reverse("selection:tier-change-list"), params or {})
    assert response.status_code == 200
    return {change.account.name for change in response.context["changes"]}


def test_tier_change_list_is_scoped_to_the_users_accounts(client, cast, two_changes) -> None:
    client.force_login(cast.kam)
    assert _changed_accounts(client, {"run": two_changes.pk}) == {"Brandt Maschinenbau GmbH"}

    client.force_login(cast.outsider_kam)
    assert _changed_accounts(client) == set()

    client.force_login(cast.leadership)
    assert _changed_accounts(client) == {"Brandt Maschinenbau GmbH", "Lorenz Logistik SE"}


def test_tier_change_list_filters_by_run_and_links_accounts(client, cast, two_changes) -> None:
    client.force_login(cast.leadership)
    later = compute(services.selection_run_start(version=two_changes.version, user=cast.leadership))
    services.selection_run_approve(run=later, user=cast.leadership)

    assert _changed_accounts(client, {"run": later.pk}) == set()
    assert len(_changed_accounts(client, {"run": two_changes.pk})) == 2
    assert _changed_accounts(client, {"q": "lorenz"}) == {"Lorenz Logistik SE"}
    page = client.get(reverse("selection:tier-change-list"), {"run": two_changes.pk})
    assert reverse("accounts:account-selection", args=[cast.account.pk]) in page.text
    assert _detail(two_changes) in page.text


def test_kam_sees_the_run_only_as_text(client, cast, two_changes) -> None:
    client.force_login(cast.kam)

    page = client.get(reverse("selection:tier-change-list"))

    assert _detail(two_changes) not in page.text


# Query counts --------------------------------------------------------------------------------


def _add_accounts(count: int, *, attribute) -> None:
    for index in range(count):
        account = AccountFactory(
            tier="Bronze" if index % 2 else "", tier_rank=3 if index % 2 else None
        )
        TeamMemberFactory(account=account, user=UserFactory(), role=TeamRole.KEY_ACCOUNT_MANAGER)
        services.attribute_value_set(
            account=account, attribute=attribute, number=Decimal(1500 + index), user=None
        )


def _queries(client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {})
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(context.captured_queries)


def _measure(client, cast, version) -> dict[str, int]:
    run = compute(services.selection_run_start(version=version, user=cast.leadership))
    for result in SelectionResult.objects.filter(run=run)[:3]:
        services.tier_override_set(result=result, rank=1, reason="Test", user=cast.leadership)
    measured = {
        "run detail": _queries(client, _detail(run)),
        "run detail filtered": _queries(
            client, _detail(run), {"movement": "down", "sort": "-score"}
        ),
        "run list": _queries(client, reverse("selection:run-list")),
        "csv": _queries(client, reverse("selection:run-export", args=[run.pk, "csv"])),
        "xlsx": _queries(client, reverse("selection:run-export", args=[run.pk, "xlsx"])),
    }
    services.selection_run_approve(run=run, user=cast.leadership)
    measured["tier changes"] = _queries(client, reverse("selection:tier-change-list"))
    return measured


def test_query_counts_do_not_grow_with_the_accounts(
    client, cast, released_version, workplaces
) -> None:
    client.force_login(cast.leadership)
    few = _measure(client, cast, released_version)

    _add_accounts(18, attribute=workplaces)
    many = _measure(client, cast, released_version)

    assert SelectionResult.objects.filter(run__is_current=True).count() == 20
    assert many == few
