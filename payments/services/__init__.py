"""Writes of the payments app: invoices, escalation policies, the steps of escalations and the
daily job. Import from here."""

from payments.services.daily import (
    escalation_run_job,
    escalation_run_start,
    escalations_close_paid,
    escalations_run,
)
from payments.services.escalations import escalation_act, escalation_system_step
from payments.services.invoices import invoice_save, policies_save, policy_save

__all__ = [
    "escalation_act",
    "escalation_run_job",
    "escalation_run_start",
    "escalation_system_step",
    "escalations_close_paid",
    "escalations_run",
    "invoice_save",
    "policies_save",
    "policy_save",
]
