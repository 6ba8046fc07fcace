"""Workflow templates as data (DOMAIN.md "Interventions and steps", docs/WORKFLOW.md).

Four built-in templates ship with the server; an admin may replace any of them
(``intervention_update_template``), which stores a row in ``workflow_templates``. A
started intervention keeps copies of its steps, so editing a template never touches the
work already under way.

Checklist items and quality checkpoints marked ``per_zone`` are expanded at start into
one entry per zone of the intervention (``edges_sealed@hood``, ``edges_sealed@roof``),
so that a PPF installer confirms every panel.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from rpma.domains.interventions.models import InterventionStep

StepType = Literal["inspection", "preparation", "installation", "finalization"]
InterventionType = Literal["ppf", "ceramic", "detailing", "other"]
STEP_TYPES: Final = ("inspection", "preparation", "installation", "finalization")
TEMPLATE_KEYS: Final = ("ppf_standard", "ppf_express", "ceramic", "detailing")
ZONE_SEPARATOR: Final = "@"
# ppf_express covers small jobs: at most this many zones.
EXPRESS_MAX_ZONES: Final = 2

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _unique_ids(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"the id {item.id!r} is used twice")
        seen.add(item.id)
    return items


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ChecklistItemDef(_Strict):
    id: Key
    label: Label
    required: bool = True
    per_zone: bool = False


class CheckpointDef(_Strict):
    id: Key
    label: Label
    per_zone: bool = False


class StepDef(_Strict):
    id: Key
    step_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    step_type: StepType
    is_mandatory: bool = True
    min_photos_required: int = Field(default=0, ge=0, le=100)
    max_photos_allowed: int = Field(default=50, ge=1, le=500)
    estimated_minutes: int | None = Field(default=None, ge=0, le=1440)
    checklist: Annotated[list[ChecklistItemDef], Field(max_length=60), AfterValidator(_unique_ids)]
    quality_checkpoints: Annotated[
        list[CheckpointDef], Field(max_length=60), AfterValidator(_unique_ids)
    ]

    @model_validator(mode="after")
    def _photo_range(self) -> StepDef:
        if self.max_photos_allowed < self.min_photos_required:
            raise ValueError(
                f"max_photos_allowed {self.max_photos_allowed} is below "
                f"min_photos_required {self.min_photos_required}"
            )
        return self


class TemplateDef(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    steps: Annotated[list[StepDef], Field(min_length=1, max_length=30), AfterValidator(_unique_ids)]

    @property
    def estimated_minutes(self) -> int:
        return sum(step.estimated_minutes or 0 for step in self.steps)


# Which template a new intervention gets (not editable: the keys are fixed). -------------------
APPLIES_TO: Final = {
    "ppf_standard": "ppf with more than 2 zones (or no zones given)",
    "ppf_express": "ppf with 1 or 2 zones",
    "ceramic": "ceramic",
    "detailing": "detailing and other",
}


def template_key_for(intervention_type: str, zone_count: int) -> str:
    """ppf by zone count (no zone at all means an unknown extent: the full workflow),
    ceramic, and detailing for detailing and anything else."""
    if intervention_type == "ppf":
        return "ppf_express" if 1 <= zone_count <= EXPRESS_MAX_ZONES else "ppf_standard"
    if intervention_type == "ceramic":
        return "ceramic"
    return "detailing"


# The built-in defaults ------------------------------------------------------------------------
def _item(item_id: str, label: str, *, required: bool = True, per_zone: bool = False) -> Any:
    return {"id": item_id, "label": label, "required": required, "per_zone": per_zone}


def _check(check_id: str, label: str, *, per_zone: bool = False) -> Any:
    return {"id": check_id, "label": label, "per_zone": per_zone}


# (id, name, type, mandatory, min photos, estimated minutes): one row of DOMAIN.md's table.
StepHead = tuple[str, str, str, bool, int, int]


def _step(head: StepHead, checklist: list[Any], checkpoints: list[Any]) -> dict[str, Any]:
    step_id, name, step_type, mandatory, photos, minutes = head
    return {
        "id": step_id,
        "step_name": name,
        "step_type": step_type,
        "is_mandatory": mandatory,
        "min_photos_required": photos,
        "max_photos_allowed": 50,
        "estimated_minutes": minutes,
        "checklist": checklist,
        "quality_checkpoints": checkpoints,
    }


_PPF_INSPECTION_LIST: Final = [
    _item("vehicle_clean_dry", "Vehicle washed, clean and dry"),
    _item("temperature_confirmed", "Workshop temperature between 15 and 30 °C confirmed"),
    _item("defects_documented", "Existing chips, scratches and dents photographed and noted"),
    _item("paint_depth_measured", "Paint thickness measured on the panels", required=False),
]
_PPF_INSPECTION_CHECKS: Final = [
    _check("paint_condition_ok", "Paint in a condition that takes film (no flaking, cured)"),
    _check("customer_agreed_defects", "Customer agreed the recorded defects"),
]
_PPF_INSTALLATION_LIST: Final = [
    _item("surface_ready", "Surface ready (decontaminated, IPA wipe)", per_zone=True),
    _item("film_applied", "Film applied without bubbles or stretch marks", per_zone=True),
    _item("edges_sealed", "Edges wrapped and sealed", per_zone=True),
]
_PPF_INSTALLATION_CHECKS: Final = [
    _check("no_bubbles", "No bubbles, dust or fingers under the film", per_zone=True),
    _check("edges_aligned", "Edges aligned and not lifting", per_zone=True),
]
_PPF_FINALIZATION_LIST: Final = [
    _item("lights_inspection", "Final inspection under inspection lights"),
    _item("vehicle_cleaned", "Vehicle cleaned of slip solution and marks"),
    _item("handover_explained", "Handover explained to the customer (no wash for 48 h)"),
    _item("aftercare_leaflet", "Aftercare leaflet given"),
]
_PPF_FINALIZATION_CHECKS: Final = [
    _check("finish_uniform", "Finish uniform, no haze or silvering"),
    _check("customer_satisfied_walkaround", "Customer walk-around done without remarks"),
]

PPF_STANDARD: Final = {
    "name": "PPF standard",
    "description": "Paint protection film on more than two zones.",
    "steps": [
        _step(
            ("inspection", "Inspection", "inspection", True, 4, 15),
            _PPF_INSPECTION_LIST, _PPF_INSPECTION_CHECKS,
        ),
        _step(
            ("preparation", "Preparation", "preparation", True, 2, 30),
            [
                _item("decontamination_wash", "Decontamination wash done"),
                _item("clay_bar", "Clay bar treatment done"),
                _item("ipa_wipe", "Panels wiped with IPA"),
                _item("trim_removed", "Badges and trims removed where needed", required=False),
                _item("film_cut", "Film pre-cut or plotted for this model"),
            ],
            [_check("surface_contaminant_free", "Surface free of contaminants by touch test")],
        ),
        _step(
            ("installation", "Installation", "installation", True, 6, 60),
            _PPF_INSTALLATION_LIST, _PPF_INSTALLATION_CHECKS,
        ),
        _step(
            ("finalization", "Finalization", "finalization", True, 4, 15),
            _PPF_FINALIZATION_LIST, _PPF_FINALIZATION_CHECKS,
        ),
    ],
}  # fmt: skip

PPF_EXPRESS: Final = {
    "name": "PPF express",
    "description": "Paint protection film on one or two zones.",
    "steps": [
        _step(
            ("inspection", "Inspection", "inspection", True, 2, 5),
            _PPF_INSPECTION_LIST, _PPF_INSPECTION_CHECKS,
        ),
        _step(
            ("installation", "Installation", "installation", True, 4, 30),
            _PPF_INSTALLATION_LIST, _PPF_INSTALLATION_CHECKS,
        ),
        _step(
            ("finalization", "Finalization", "finalization", True, 2, 5),
            _PPF_FINALIZATION_LIST, _PPF_FINALIZATION_CHECKS,
        ),
    ],
}  # fmt: skip

CERAMIC: Final = {
    "name": "Ceramic coating",
    "description": "Ceramic coating with optional paint correction.",
    "steps": [
        _step(
            ("inspection", "Inspection", "inspection", True, 2, 15),
            [
                _item("vehicle_clean_dry", "Vehicle washed, clean and dry"),
                _item("temperature_confirmed", "Temperature between 15 and 30 °C confirmed"),
                _item("defects_documented", "Swirls, scratches and defects documented"),
            ],
            [_check("paint_condition_ok", "Paint sound enough to coat")],
        ),
        _step(
            ("decontamination", "Decontamination", "preparation", True, 0, 45),
            [
                _item("iron_fallout_removed", "Iron fallout remover applied and rinsed"),
                _item("tar_removed", "Tar and glue residues removed"),
                _item("clay_bar", "Clay bar treatment done"),
            ],
            [_check("surface_smooth", "Surface smooth to the touch")],
        ),
        _step(
            ("paint_correction", "Paint correction", "preparation", False, 0, 120),
            [
                _item("compound_stage", "Compounding stage done"),
                _item("polish_stage", "Polishing stage done"),
                _item("paint_depth_checked", "Paint depth re-checked", required=False),
            ],
            [_check("defects_corrected", "Swirls and holograms corrected under lights")],
        ),
        _step(
            ("coating", "Coating", "installation", True, 2, 60),
            [
                _item("panel_wipe", "Panel wipe (IPA) before coating"),
                _item("coating_applied", "Coating applied panel by panel, cross-hatched"),
                _item("high_spots_levelled", "High spots levelled within the flash time"),
            ],
            [_check("even_layer", "Even layer, no high spots under lights")],
        ),
        _step(
            ("curing_check", "Curing check", "finalization", True, 2, 15),
            [
                _item("cure_time_respected", "Cure time (or IR curing) respected"),
                _item("handover_explained", "Handover explained (no wash for 7 days)"),
                _item("aftercare_leaflet", "Aftercare leaflet given"),
            ],
            [
                _check("no_high_spots", "No high spots or streaks after curing"),
                _check("water_beading", "Water beading test passed"),
            ],
        ),
    ],
}  # fmt: skip

DETAILING: Final = {
    "name": "Detailing",
    "description": "Cleaning and finishing work, and any other job.",
    "steps": [
        _step(
            ("inspection", "Inspection", "inspection", True, 2, 10),
            [
                _item("defects_documented", "Existing damage documented"),
                _item("personal_items_noted", "Personal items in the car noted"),
            ],
            [],
        ),
        _step(
            ("cleaning", "Cleaning", "preparation", True, 0, 60),
            [
                _item("exterior_wash", "Exterior washed and dried"),
                _item("interior_vacuumed", "Interior vacuumed"),
                _item("glass_cleaned", "Glass cleaned inside and out"),
            ],
            [_check("no_residue", "No residue or streaks left")],
        ),
        _step(
            ("finishing", "Finishing", "installation", False, 0, 30),
            [
                _item("protection_applied", "Wax or sealant applied"),
                _item("tyres_dressed", "Tyres dressed", required=False),
            ],
            [_check("gloss_uniform", "Gloss uniform on all panels")],
        ),
        _step(
            ("handover", "Handover", "finalization", True, 1, 10),
            [
                _item("walkaround_done", "Walk-around with the customer done"),
                _item("personal_items_returned", "Personal items returned"),
            ],
            [_check("customer_happy", "Customer happy with the result")],
        ),
    ],
}  # fmt: skip

DEFAULTS: Final[dict[str, TemplateDef]] = {
    "ppf_standard": TemplateDef.model_validate(PPF_STANDARD),
    "ppf_express": TemplateDef.model_validate(PPF_EXPRESS),
    "ceramic": TemplateDef.model_validate(CERAMIC),
    "detailing": TemplateDef.model_validate(DETAILING),
}
assert tuple(DEFAULTS) == TEMPLATE_KEYS


# From a template to an intervention's steps ---------------------------------------------------
def zone_label(zone: str) -> str:
    """``front_bumper`` -> ``Front bumper``; ``custom:Spoiler`` -> ``Spoiler``."""
    if zone.startswith("custom:"):
        return zone[len("custom:") :]
    return zone.replace("_", " ").capitalize()


def expand(items: list[Any], zones: list[str], *, with_required: bool) -> list[dict[str, Any]]:
    """The template's checklist or checkpoints as the step stores them: per-zone entries
    once per zone (kept whole when the intervention has no zones)."""
    out: list[dict[str, Any]] = []
    for item in items:
        copies = [(item.id, item.label)]
        if item.per_zone and zones:
            copies = [
                (f"{item.id}{ZONE_SEPARATOR}{zone}", f"{item.label} ({zone_label(zone)})")
                for zone in zones
            ]
        for item_id, label in copies:
            entry: dict[str, Any] = {"id": item_id, "label": label}
            if with_required:
                entry["required"] = item.required
            out.append(entry)
    return out


def step_rows(
    template: TemplateDef, zones: list[str], *, intervention_id: str, now: int, actor: str | None
) -> list[InterventionStep]:
    """The steps of a new intervention, copied from ``template``; the first one starts."""
    rows = []
    for number, step in enumerate(template.steps, start=1):
        first = number == 1
        rows.append(
            InterventionStep(
                id=str(uuid.uuid4()),
                intervention_id=intervention_id,
                step_number=number,
                step_name=step.step_name,
                step_type=step.step_type,
                status="in_progress" if first else "pending",
                is_mandatory=step.is_mandatory,
                min_photos_required=step.min_photos_required,
                max_photos_allowed=step.max_photos_allowed,
                estimated_minutes=step.estimated_minutes,
                checklist=expand(step.checklist, zones, with_required=True),
                quality_checkpoints=expand(step.quality_checkpoints, zones, with_required=False),
                collected_data={},
                photo_count=0,
                started_at=now if first else None,
                created_at=now,
                updated_at=now,
                created_by=actor,
                updated_by=actor,
            )
        )
    return rows
