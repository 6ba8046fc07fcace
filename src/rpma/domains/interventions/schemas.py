"""What interventions look like on the wire (seed: Intervention Commands; CONTRACT.md
section 8 "Steps"; DOMAIN.md "Interventions and steps")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rpma.core.clock import clock
from rpma.core.commands import IpcRequest
from rpma.core.validation import (
    FieldValidationError,
    invalid,
    text_field,
    validate_gps_accuracy,
    validate_gps_coordinates,
    validate_gps_freshness,
)
from rpma.domains.interventions.models import Intervention, InterventionStep
from rpma.domains.interventions.rules import check_signature
from rpma.domains.interventions.templates import InterventionType, StepDef
from rpma.domains.tasks.schemas import FilmType, Id, TaskOut, Zones
from rpma.domains.tasks.status import TaskPriority

WeatherCondition = Literal["sunny", "cloudy", "rainy", "foggy", "windy", "other"]
LightingCondition = Literal["natural", "artificial", "mixed"]
WorkLocation = Literal["indoor", "outdoor", "semi_covered"]
InterventionStatus = Literal["pending", "in_progress", "paused", "completed", "cancelled"]


def _signature(value: str) -> str:
    try:
        return check_signature(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


Notes = Annotated[str, text_field(10_000, "notes")]
Description = Annotated[str, text_field(5000, "description")]
FilmName = Annotated[str, text_field(64, "film name")]
Comments = Annotated[str, text_field(5000, "customer_comments")]
Observation = Annotated[str, text_field(2000, "an observation", required=True)]
Reason = Annotated[str, text_field(500, "reason", required=True)]
Signature = Annotated[str, AfterValidator(_signature)]
StepNumber = Annotated[int, Field(ge=1, le=1000)]
Temperature = Annotated[float, Field(ge=-30, le=60, allow_inf_nan=False)]
Humidity = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
ExpectedVersion = Annotated[
    int | None, Field(default=None, description="the version you read; 409 when stale")
]


class GpsFix(IpcRequest):
    """A position checked with the seed's validators: coordinates in range, accuracy at
    most 100 m, taken at most 10 minutes ago (by the server's clock)."""

    latitude: float
    longitude: float
    accuracy: float
    timestamp: int = Field(description="Unix milliseconds of the fix")

    @model_validator(mode="after")
    def _seed_rules(self) -> GpsFix:
        try:
            validate_gps_coordinates(self.latitude, self.longitude)
            validate_gps_accuracy(self.accuracy)
            validate_gps_freshness(self.timestamp, clock.now_ms())
        except FieldValidationError as exc:
            raise invalid(exc.message) from None
        return self


class Environment(IpcRequest):
    """The conditions of the work, given at start and changeable by update."""

    film_type: FilmType | None = None
    film_brand: FilmName | None = None
    film_model: FilmName | None = None
    weather_condition: WeatherCondition | None = None
    lighting_condition: LightingCondition | None = None
    work_location: WorkLocation | None = None
    temperature_celsius: Temperature | None = None
    humidity_percentage: Humidity | None = None
    notes: Notes | None = None


# Requests -------------------------------------------------------------------------------------
class StartInterventionRequest(Environment):
    task_id: Id
    intervention_type: InterventionType
    priority: TaskPriority | None = None
    description: Description | None = None
    estimated_duration_minutes: Annotated[int, Field(ge=1, le=10_080)] | None = None
    ppf_zones: Zones | None = Field(default=None, description="the task's zones when absent")
    gps: GpsFix | None = None


class InterventionIdRequest(IpcRequest):
    id: Id


class DeleteInterventionRequest(IpcRequest):
    id: Id
    expected_version: ExpectedVersion


class TaskIdRequest(IpcRequest):
    task_id: Id


class UpdateInterventionRequest(IpcRequest):
    id: Id
    data: dict[str, Any]
    expected_version: ExpectedVersion


class InterventionUpdateData(Environment):
    """What ``intervention_update`` may change; anything else (status, steps, scores) has
    its own command and is refused here."""

    model_config = ConfigDict(strict=True, extra="forbid")

    priority: TaskPriority | None = None
    description: Description | None = None
    estimated_duration: Annotated[int, Field(ge=1, le=10_080)] | None = None
    customer_comments: Comments | None = None
    expected_version: int | None = None


class InterventionRefRequest(IpcRequest):
    intervention_id: Id


class StepRefRequest(IpcRequest):
    intervention_id: Id
    step_number: StepNumber


class StepWriteRequest(IpcRequest):
    intervention_id: Id
    step_number: StepNumber
    data: dict[str, Any] | None = Field(
        default=None,
        description="{checklist: {id: true}, quality_checkpoints: {id: bool}, measurements, "
        "notes, skip, ...}",
    )
    expected_version: ExpectedVersion


class StepData(BaseModel):
    """A step's ``data`` (CONTRACT.md section 8): the known keys are checked, any other
    key is kept in ``collected_data`` as sent."""

    model_config = ConfigDict(strict=True, extra="allow")

    checklist: dict[str, bool] | None = None
    quality_checkpoints: dict[str, bool] | None = None
    measurements: dict[str, Any] | None = None
    notes: Notes | None = None
    skip: bool | None = None


class StateChangeRequest(IpcRequest):
    intervention_id: Id
    reason: Annotated[str, text_field(500, "reason")] | None = None
    expected_version: ExpectedVersion


class CancelInterventionRequest(IpcRequest):
    intervention_id: Id
    reason: Reason
    expected_version: ExpectedVersion


class FinalizeInterventionRequest(IpcRequest):
    intervention_id: Id
    collected_data: dict[str, Any] | None = Field(
        default=None, description="merged into the last step when the call completes it"
    )
    photos: list[str] | None = Field(
        default=None, description="accepted for the seed's shape; photos are counted"
    )
    customer_satisfaction: Annotated[int, Field(ge=1, le=10)] | None = None
    quality_score: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = Field(
        default=None, description="computed from the quality checkpoints when absent"
    )
    final_observations: Observation | list[Observation] | None = None
    customer_signature: Signature | None = Field(
        default=None, description="base64 of a PNG, JPEG or WebP image, at most 2 MB"
    )
    customer_comments: Comments | None = None
    gps: GpsFix | None = None
    expected_version: ExpectedVersion


class ListTemplatesRequest(IpcRequest):
    pass


class UpdateTemplateRequest(IpcRequest):
    key: Literal["ppf_standard", "ppf_express", "ceramic", "detailing"]
    definition: dict[str, Any] | None = Field(
        description="{name, description, steps: [...]}; null restores the built-in default"
    )
    expected_version: ExpectedVersion


# Answers --------------------------------------------------------------------------------------
class Location(BaseModel):
    latitude: float
    longitude: float
    accuracy: float | None


def _location(lat: float | None, lon: float | None, accuracy: float | None) -> Location | None:
    if lat is None or lon is None:
        return None
    return Location(latitude=lat, longitude=lon, accuracy=accuracy)


class InterventionOut(BaseModel):
    id: str
    task_id: str
    intervention_type: str
    status: InterventionStatus
    technician_id: str | None
    template_key: str
    priority: str | None
    description: str | None
    vehicle_plate: str | None
    vehicle_make: str | None
    vehicle_model: str | None
    vehicle_year: int | None
    vin: str | None
    client_id: str | None
    client_name: str | None
    ppf_zones: list[str]
    film_type: str | None
    film_brand: str | None
    film_model: str | None
    weather_condition: str | None
    lighting_condition: str | None
    work_location: str | None
    temperature_celsius: float | None
    humidity_percentage: float | None
    start_location: Location | None
    end_location: Location | None
    started_at: int | None
    paused_at: int | None
    paused_seconds: int
    completed_at: int | None
    estimated_duration: int | None
    actual_duration: int | None
    current_step: int
    total_steps: int
    completion_percentage: float
    quality_score: int | None
    customer_satisfaction: int | None
    final_observations: list[str]
    customer_signature: str | None
    customer_comments: str | None
    notes: str | None
    created_at: int
    updated_at: int
    created_by: str | None
    updated_by: str | None
    version: int

    @classmethod
    def of(cls, row: Intervention) -> InterventionOut:
        skip = {"start_location", "end_location"}
        values = {name: getattr(row, name) for name in cls.model_fields if name not in skip}
        return cls(
            **values,
            start_location=_location(row.start_latitude, row.start_longitude, row.start_accuracy),
            end_location=_location(row.end_latitude, row.end_longitude, row.end_accuracy),
        )


class ChecklistItem(BaseModel):
    id: str
    label: str
    required: bool


class Checkpoint(BaseModel):
    id: str
    label: str


class StepOut(BaseModel):
    id: str
    intervention_id: str
    step_number: int
    step_name: str
    step_type: str
    status: Literal["pending", "in_progress", "completed", "skipped", "rework"]
    is_mandatory: bool
    min_photos_required: int
    max_photos_allowed: int
    estimated_minutes: int | None
    checklist: list[ChecklistItem]
    quality_checkpoints: list[Checkpoint]
    collected_data: dict[str, Any]
    notes: str | None
    photo_count: int
    started_at: int | None
    completed_at: int | None
    duration_seconds: int | None
    location: Location | None
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, row: InterventionStep) -> StepOut:
        values = {name: getattr(row, name) for name in cls.model_fields if name != "location"}
        return cls(**values, location=_location(row.latitude, row.longitude, row.accuracy))


class StartInterventionResponse(BaseModel):
    intervention: InterventionOut
    steps: list[StepOut]


class InterventionProgress(BaseModel):
    current_step: int
    total_steps: int
    completion_percentage: float
    steps: list[StepOut]


class FinalizeInterventionResponse(BaseModel):
    intervention: InterventionOut
    task: TaskOut
    quality_score: int


class TemplateOut(BaseModel):
    key: str
    name: str
    description: str | None
    applies_to: str
    source: Literal["default", "custom"]
    version: int = Field(description="0 for the built-in default")
    updated_at: int | None
    updated_by: str | None
    estimated_minutes: int
    steps: list[StepDef]


class TemplatesResponse(BaseModel):
    templates: list[TemplateOut]
