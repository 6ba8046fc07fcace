"""The effective workflow templates: the built-in defaults, replaced key by key by the
rows an admin saved (``intervention_update_template``)."""

from __future__ import annotations

from typing import Any

from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.errors import Conflict
from rpma.core.parsing import parse
from rpma.domains.interventions.models import WorkflowTemplate
from rpma.domains.interventions.repository import InterventionRepository
from rpma.domains.interventions.schemas import TemplateOut
from rpma.domains.interventions.templates import APPLIES_TO, DEFAULTS, TEMPLATE_KEYS, TemplateDef


class TemplateStore:
    def __init__(self, repo: InterventionRepository, actor: Principal | None) -> None:
        self.repo = repo
        self.actor = actor

    def definition(self, key: str) -> TemplateDef:
        row = self.repo.template_row(key)
        return TemplateDef.model_validate(row.definition) if row else DEFAULTS[key]

    def effective(self) -> list[TemplateOut]:
        rows = self.repo.template_rows()
        return [self._out(key, rows.get(key)) for key in TEMPLATE_KEYS]

    def update(
        self, key: str, definition: dict[str, Any] | None, expected_version: int | None
    ) -> TemplateOut:
        """Replace a template (``definition`` null restores the built-in default). The
        interventions already started keep their copies of the old steps."""
        row = self.repo.template_row(key, lock=True)
        current = row.version if row else 0
        if expected_version is not None and expected_version != current:
            raise Conflict(
                message=f"Template {key} was changed by someone else (version {current}, "
                f"expected {expected_version}); reload and retry",
                current_version=current,
                expected_version=expected_version,
            )
        if definition is None:
            if row is not None:
                self.repo.delete_template(row)
            return self._out(key, None)
        stored = parse(TemplateDef, definition, "definition").model_dump(mode="json")
        now, actor_id = clock.now_ms(), self.actor.user_id if self.actor else None
        if row is None:
            row = WorkflowTemplate(key=key, definition=stored, version=1)
        else:
            row.definition, row.version = stored, row.version + 1
        row.updated_at, row.updated_by = now, actor_id
        self.repo.save_template(row)
        return self._out(key, row)

    @staticmethod
    def _out(key: str, row: WorkflowTemplate | None) -> TemplateOut:
        template = TemplateDef.model_validate(row.definition) if row else DEFAULTS[key]
        return TemplateOut(
            key=key,
            name=template.name,
            description=template.description,
            applies_to=APPLIES_TO[key],
            source="custom" if row else "default",
            version=row.version if row else 0,
            updated_at=row.updated_at if row else None,
            updated_by=row.updated_by if row else None,
            estimated_minutes=template.estimated_minutes,
            steps=template.steps,
        )
