"""Printouts of plans: one plan's PDF as a job, and the annual printout of all approved plans.

A plan's PDF is rendered from a snapshot (``plans.selectors.plan_snapshot``; a frozen
version stores the same dict), in the plan's language. A version never changes, so its PDF
is rendered once and cached in ``PlanVersion.pdf``.

The annual printout fans out: the job's first task selects the versions and queues one
render task per version that has no PDF yet, so several workers render in parallel. Each
render task, once done, checks whether every version of the job has its PDF and, if so,
queues the assemble task. There is no result backend (no chords); the assembler claims the
job with a conditional update, so however many render tasks see "all done", one assembles.
Its result file is a ZIP holding one PDF per plan (named by ERP number and account) and the
combined PDF of all of them (``job.result["combined"]`` names it inside the ZIP).
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import zipfile
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import override
from pypdf import PdfReader, PdfWriter

from kam import access
from kam.models import Job, User
from kam.pdf import render_pdf
from kam.services import ProgressReporter, job_enqueue
from plans.models import Plan, PlanVersion
from plans.selectors import plan_snapshot, print_context, printout_versions

logger = logging.getLogger(__name__)

PRINT_TEMPLATE = "plans/plan_print.html"
PRINT_STYLESHEETS = ("css/plan-print.css",)

# Progress of the annual printout: rendering moves it up to ASSEMBLING - 1; the assembler
# claims the job by moving it to ASSEMBLING, which no render task's update can undo.
SELECTED, ASSEMBLING = 5, 90


def plan_pdf_render(snapshot: dict[str, Any]) -> bytes:
    """The A4 printout of a plan snapshot as PDF bytes, in the plan's language."""
    with override(snapshot["plan"]["language"]):
        return render_pdf(PRINT_TEMPLATE, print_context(snapshot), stylesheets=PRINT_STYLESHEETS)


def plan_pdf_filename(snapshot: dict[str, Any], number: int | None = None) -> str:
    """``<ERP number>-<account>-<first>-<last>-v<n>.pdf`` (``-working-copy`` without a version)."""
    account, years = snapshot["account"], snapshot["plan"]["years"]
    name = slugify(f"{account['erp_number']} {account['name']}")[:80] or "plan"
    suffix = f"v{number}" if number is not None else "working-copy"
    return f"{name}-{years[0]}-{years[-1]}-{suffix}.pdf"


def version_pdf(version: PlanVersion) -> bytes:
    """The version's printout: read from its cache, or rendered once and cached.

    Two workers rendering the same version at once both succeed; the first to store it wins
    and the other's file is removed.
    """
    cached = version.pdf.name
    if cached:
        try:
            with version.pdf.open("rb") as handle:
                return handle.read()
        except FileNotFoundError:
            logger.warning(
                "The cached printout %s of %s is gone; rendering it again", cached, version
            )
    pdf = plan_pdf_render(version.snapshot)
    version.pdf.save(
        plan_pdf_filename(version.snapshot, version.number), ContentFile(pdf), save=False
    )
    stored = PlanVersion.objects.filter(pk=version.pk, pdf=cached).update(pdf=version.pdf.name)
    if not stored:
        version.pdf.storage.delete(version.pdf.name)
        version.refresh_from_db(fields=["pdf"])
    return pdf


def _page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def plan_pdf_start(*, plan: Plan, user: User, number: int | None = None) -> Job:
    """Queue the PDF of ``plan``'s working copy, or of its version ``number``.

    Raises PermissionDenied when the user may not open the plan, ValidationError (code
    ``no_such_version``) for a version the plan does not have.
    """
    readable = access.scope(user, Plan.objects.filter(pk=plan.pk), account_path="account")
    if not readable.exists():
        raise PermissionDenied
    if number is not None and not plan.versions.filter(number=number).exists():
        raise ValidationError(_("The plan has no such version."), code="no_such_version")
    return job_enqueue(
        kind=Job.Kind.PLAN_PDF, created_by=user, params={"plan_id": plan.pk, "version": number}
    )


def plan_pdf_job(job: Job, report: ProgressReporter) -> dict[str, Any]:
    """Job work of ``PLAN_PDF``: render the plan (or version) and store it as the result file."""
    plan = Plan.objects.select_related("account").get(pk=job.params["plan_id"])
    number = job.params.get("version")
    report(10, _("Rendering the plan"))
    if number is None:
        snapshot = plan_snapshot(plan)
        pdf = plan_pdf_render(snapshot)
    else:
        version = plan.versions.get(number=number)
        snapshot = version.snapshot
        pdf = version_pdf(version)
    report(90, _("Storing the PDF"))
    # A rerun (an interrupted job claimed again) replaces its file instead of adding one.
    if job.result_file:
        job.result_file.delete(save=False)
    # A folder per job keeps the download's name clean (the storage renames clashing files).
    job.result_file.save(
        f"{job.pk}/{plan_pdf_filename(snapshot, number)}", ContentFile(pdf), save=False
    )
    Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name)
    return {"plan_id": plan.pk, "version": number, "pages": _page_count(pdf), "bytes": len(pdf)}


def printout_start(*, user: User, year: int, tier: str = "", kam: User | None = None) -> Job:
    """Queue the annual printout of ``year`` (optionally one tier or one KAM's accounts).

    Raises PermissionDenied unless the user may print the annual plans.
    """
    if not access.may_print_annual_plans(user):
        raise PermissionDenied
    params = {"year": year, "tier": tier, "kam_id": kam.pk if kam else None}
    return job_enqueue(kind=Job.Kind.PLAN_PRINTOUT, created_by=user, params=params)


def _fail(job_id: int, exc: BaseException) -> None:
    logger.exception("Printout job %s failed", job_id, exc_info=exc)
    Job.objects.filter(pk=job_id, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.FAILED,
        finished_at=timezone.now(),
        error=f"{type(exc).__name__}: {exc}"[:2000],
    )


# The printout's steps run in tasks outside any transaction: every row they wrote is
# committed when they queue the next step, so they queue it at once (no on_commit).


def _enqueue_render(job_id: int, version_id: int) -> None:
    from plans.tasks import plan_printout_render_version

    plan_printout_render_version.delay(job_id, version_id)


def _enqueue_assemble(job_id: int) -> None:
    from plans.tasks import plan_printout_assemble

    plan_printout_assemble.delay(job_id)


def printout_fan_out(*, job_id: int) -> None:
    """First step of ``PLAN_PRINTOUT``: select the versions, queue a render task for each one
    without a PDF (or the assembly when none is missing).

    Safe to run twice: a finished job is left alone; a running one (its worker died) starts
    over, and versions already rendered are not rendered again.
    """
    claimed = Job.objects.filter(pk=job_id, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        progress=0,
        progress_message=_("Selecting the approved plans"),
    )
    if not claimed:
        logger.info("Printout job %s is finished or gone; nothing to do", job_id)
        return
    job = Job.objects.get(pk=job_id)
    try:
        params = job.params
        kam = User.objects.get(pk=params["kam_id"]) if params.get("kam_id") else None
        selected = printout_versions(year=params["year"], tier=params.get("tier", ""), kam=kam)
        versions = list(selected.values_list("pk", "pdf"))
    except Exception as exc:
        _fail(job_id, exc)
        return
    ids = [pk for pk, _pdf in versions]
    Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(
        result={"year": params["year"], "versions": ids},
        progress=SELECTED,
        progress_message=_("Rendering %(count)s plans") % {"count": len(ids)},
    )
    missing = [pk for pk, pdf in versions if not pdf]
    if not missing:
        _enqueue_assemble(job_id)
    for version_id in missing:
        _enqueue_render(job_id, version_id)


def printout_render_version(*, job_id: int, version_id: int) -> None:
    """Render one version of a printout job (skipped when it has its PDF already), report the
    job's progress, and queue the assembly once every version of the job has its PDF."""
    job = Job.objects.filter(pk=job_id, state=Job.State.RUNNING).first()
    if job is None:
        return
    try:
        version = PlanVersion.objects.get(pk=version_id)
        if not version.pdf:
            version_pdf(version)
    except Exception as exc:
        _fail(job_id, exc)
        return
    ids = job.result.get("versions", [])
    done = PlanVersion.objects.filter(pk__in=ids).exclude(pdf="").count()
    percent = SELECTED + (ASSEMBLING - 1 - SELECTED) * done // max(1, len(ids))
    # Progress only grows: render tasks finish in any order, and never below a claimed assembly.
    Job.objects.filter(pk=job_id, state=Job.State.RUNNING, progress__lt=percent).update(
        progress=percent,
        progress_message=_("%(done)s of %(total)s plans rendered")
        % {"done": done, "total": len(ids)},
    )
    if done == len(ids):
        _enqueue_assemble(job_id)


def printout_assemble(*, job_id: int) -> None:
    """Last step of ``PLAN_PRINTOUT``: one ZIP of the plans' PDFs plus their combined PDF,
    stored as the job's result file. Runs once per job however often it is queued."""
    claimed = Job.objects.filter(
        pk=job_id, state=Job.State.RUNNING, progress__lt=ASSEMBLING
    ).update(progress=ASSEMBLING, progress_message=_("Building the ZIP and the combined PDF"))
    if not claimed:
        return
    job = Job.objects.get(pk=job_id)
    try:
        result = _assemble(job)
    except Exception as exc:
        _fail(job_id, exc)
        return
    finished = Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(
        state=Job.State.SUCCEEDED,
        finished_at=timezone.now(),
        progress=100,
        progress_message="",
        result=result,
        result_file=job.result_file.name,
    )
    if not finished:
        job.result_file.storage.delete(job.result_file.name)


def _assemble(job: Job) -> dict[str, Any]:
    """Write the ZIP into ``job.result_file`` (not yet saved on the row); return the result."""
    year, ids = job.result["year"], job.result["versions"]
    by_pk = PlanVersion.objects.select_related("plan__account").defer("snapshot").in_bulk(ids)
    versions = [by_pk[pk] for pk in ids]
    combined_name = f"key-account-plans-{year}.pdf"
    combined = PdfWriter()
    files, pages = [], 0
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
            for version in versions:
                account = version.plan.account
                name = plan_pdf_filename(
                    {
                        "account": {"erp_number": account.erp_number, "name": account.name},
                        "plan": {"years": version.plan.years},
                    },
                    version.number,
                )
                pdf = version_pdf(version)
                bundle.writestr(name, pdf)
                start = len(combined.pages)
                # The plan's own bookmarks (its headings) go under one named after the account.
                combined.append(
                    PdfReader(io.BytesIO(pdf)),
                    outline_item=f"{account.name} ({account.erp_number})",
                )
                pages += len(combined.pages) - start
                files.append(name)
            if files:
                # pypdf needs a seekable stream; a member of a ZIP being written is not one.
                with tempfile.TemporaryFile() as spooled:
                    combined.write(spooled)
                    spooled.seek(0)
                    with bundle.open(combined_name, "w") as target:
                        shutil.copyfileobj(spooled, target)
        archive.seek(0)
        job.result_file.save(f"{job.pk}/key-account-plans-{year}.zip", File(archive), save=False)
    return {
        "year": year,
        "versions": ids,
        "plans": len(files),
        "pages": pages,
        "files": files,
        "combined": combined_name if files else "",
    }
