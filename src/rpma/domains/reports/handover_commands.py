"""intervention_export_report (new; issue 7 item 4): the customer handover PDF of one
intervention. docs/EXPORTS.md, "Handover report"."""

from __future__ import annotations

from rpma.core.commands import RateClass, command
from rpma.core.context import CommandContext
from rpma.domains.reports.export_schemas import HandoverExportRequest, HandoverExportResult
from rpma.domains.reports.handover import export_handover

# The writers of the matrix (admin, supervisor, technician); the service narrows a
# technician to the interventions of tasks assigned to them.
PERMISSION = "intervention.start"


@command(
    "intervention_export_report",
    request=HandoverExportRequest,
    response=HandoverExportResult,
    permission=PERMISSION,
    limit=RateClass.REPORTS,
    errors=[
        "VALIDATION_ERROR",
        "NOT_FOUND",
        "NOT_FOUND_INTERVENTION",
        "IO_ERROR",
        "RATE_LIMIT",
        "AUTH_FORBIDDEN",
        "AUTH_SESSION_INVALID",
        "AUTH_SESSION_EXPIRED",
    ],
)
def intervention_export_report(
    ctx: CommandContext, req: HandoverExportRequest
) -> HandoverExportResult:
    """The customer handover report of one intervention as a PDF, the document a PPF shop
    hands over with the car and keeps for warranty claims: `{intervention_id,
    transfer?}`. It shows the workshop, the client, the vehicle (make, model, year,
    plate, VIN, colour), the zones, the film (brand, model, type) and the batch numbers
    recorded in the steps' data (`film_batch`, `batch_number`, `batch_numbers`,
    `film_lot`, `lot_number`, `roll_number`), the technician and working time, the
    quality score and satisfaction, every step with its checklist, quality checkpoints,
    measurements, notes and photo thumbnails (48 at most), the customer's signature and
    comments, the date, and the warranty terms. Admins and supervisors may print any
    intervention's report, a technician only those of tasks assigned to them
    (`AUTH_FORBIDDEN`). The file is kept under `exports` like any export (listed by
    `export_list` as `InterventionHandover`) and comes back in the same answer:
    the `ExportResult` fields plus `download` (as `export_download` answers: inline
    base64 up to 8 MiB, else a stream).
    """
    return export_handover(ctx, req)
