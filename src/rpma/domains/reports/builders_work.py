"""Document builders for the work done: quality and compliance, material usage, and
where the work is (geographic)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rpma.domains.reports import client_queries, figures, intervention_queries, material_queries
from rpma.domains.reports.document import Chart, Column, Metric, Series, Table
from rpma.domains.reports.parts import day_series, label_status, pie
from rpma.domains.reports.scope import ReportScope

Parts = tuple[list[Metric], list[Chart], list[Table]]


def _technician_name(names: dict[str, str], technician_id: object) -> str:
    if technician_id is None:
        return "Unassigned"
    return names.get(str(technician_id), str(technician_id))


# Quality and compliance ----------------------------------------------------------------------
def quality_compliance(db: Session, scope: ReportScope) -> Parts:
    by_tech = intervention_queries.interventions_by_technician(db, scope)
    by_status = intervention_queries.interventions_by_status(db, scope)
    by_day = intervention_queries.interventions_by_day(db, scope)
    bands = intervention_queries.quality_bands(db, scope)
    steps = intervention_queries.steps_by_type(db, scope)
    names = client_queries.user_names(db, sorted(str(g.key) for g in by_tech if g.key))
    total = sum(g.interventions for g in by_status)
    completed = sum(g.completed for g in by_status)
    checked = sum(s.photo_checked for s in steps)
    compliant = sum(s.photo_compliant for s in steps)
    summary = [
        Metric("Interventions", total),
        Metric("Completed", completed),
        Metric(
            "Average quality score",
            figures.mean(
                sum(g.quality_sum for g in by_tech), sum(g.quality_count for g in by_tech)
            ),
            "decimal",
        ),
        Metric(
            "Average satisfaction",
            figures.mean(
                sum(g.satisfaction_sum for g in by_tech),
                sum(g.satisfaction_count for g in by_tech),
            ),
            "decimal",
        ),
        Metric("Photo compliance", figures.rate(compliant, checked), "percent"),
        Metric("Steps sent back for rework", sum(s.rework for s in steps)),
    ]
    ranked = sorted(by_tech, key=lambda g: (-g.interventions, _technician_name(names, g.key)))
    charts = [
        day_series(
            "Average quality score per day",
            scope,
            {
                "Quality score": {
                    int(g.key): g.quality_sum / g.quality_count for g in by_day if g.quality_count
                }
            },
            average=True,
        ),
        pie("Quality score bands", [(band, float(n)) for band, n in bands.items() if n]),
        Chart(
            "Quality score by technician",
            "bar",
            [_technician_name(names, g.key) for g in ranked],
            [
                Series(
                    "Quality score", [figures.mean(g.quality_sum, g.quality_count) for g in ranked]
                )
            ],
        ),
    ]
    tables = [
        Table(
            "Interventions by technician",
            [
                Column("technician", "Technician"),
                Column("interventions", "Interventions", "int"),
                Column("completed", "Completed", "int"),
                Column("quality_score", "Quality score", "decimal"),
                Column("satisfaction", "Customer satisfaction", "decimal"),
            ],
            [
                [
                    _technician_name(names, g.key),
                    g.interventions,
                    g.completed,
                    figures.mean(g.quality_sum, g.quality_count),
                    figures.mean(g.satisfaction_sum, g.satisfaction_count),
                ]
                for g in ranked
            ],
        ),
        Table(
            "Steps by type",
            [
                Column("step_type", "Step type"),
                Column("steps", "Steps", "int"),
                Column("completed", "Completed", "int"),
                Column("skipped", "Skipped", "int"),
                Column("rework", "Rework", "int"),
                Column("photo_compliance", "Photo compliance", "percent"),
            ],
            [
                [
                    label_status(s.step_type),
                    s.steps,
                    s.completed,
                    s.skipped,
                    s.rework,
                    figures.rate(s.photo_compliant, s.photo_checked),
                ]
                for s in steps
            ],
        ),
        Table(
            "Quality score bands",
            [Column("band", "Score"), Column("interventions", "Interventions", "int")],
            [[band, n] for band, n in bands.items()],
        ),
        Table(
            "Interventions by status",
            [Column("status", "Status"), Column("interventions", "Interventions", "int")],
            [[label_status(str(g.key)), g.interventions] for g in by_status],
        ),
    ]
    return summary, charts, tables


# Material usage --------------------------------------------------------------------------------
def material_usage(db: Session, scope: ReportScope) -> Parts:
    materials = material_queries.usage_by_material(db, scope)
    by_tech = material_queries.cost_by_technician(db, scope)
    by_day = material_queries.cost_by_day(db, scope)
    names = client_queries.user_names(db, sorted(str(g.key) for g in by_tech if g.key))
    cost = round(sum(m.total_cost for m in materials), 2)
    summary = [
        Metric("Materials used", len(materials)),
        Metric("Consumptions", sum(m.consumptions for m in materials)),
        Metric("Material cost", cost, "money"),
        Metric(
            "Waste share",
            figures.rate(
                sum(m.waste_quantity for m in materials),
                sum(m.quantity_used + m.waste_quantity for m in materials),
            ),
            "percent",
        ),
    ]
    top = materials[:10]
    ranked = sorted(by_tech, key=lambda g: (-g.total_cost, _technician_name(names, g.key)))
    charts = [
        day_series(
            "Material cost per day", scope, {"Cost": {int(g.key): g.total_cost for g in by_day}}
        ),
        Chart(
            "Cost by material",
            "bar",
            [m.name for m in top],
            [Series("Cost", [m.total_cost for m in top])],
        ),
        Chart(
            "Cost by technician",
            "bar",
            [_technician_name(names, g.key) for g in ranked],
            [Series("Cost", [g.total_cost for g in ranked])],
        ),
    ]
    tables = [
        Table(
            "Materials",
            [
                Column("material", "Material"),
                Column("sku", "SKU"),
                Column("type", "Type"),
                Column("unit", "Unit"),
                Column("consumptions", "Consumptions", "int"),
                Column("used", "Used", "decimal"),
                Column("waste", "Waste", "decimal"),
                Column("cost", "Cost", "money"),
            ],
            [
                [
                    m.name,
                    m.sku,
                    label_status(m.material_type),
                    m.unit_of_measure.replace("_", " "),
                    m.consumptions,
                    m.quantity_used,
                    m.waste_quantity,
                    round(m.total_cost, 2),
                ]
                for m in materials
            ],
        ),
        Table(
            "Cost by technician",
            [
                Column("technician", "Technician"),
                Column("consumptions", "Consumptions", "int"),
                Column("cost", "Cost", "money"),
            ],
            [
                [_technician_name(names, g.key), g.consumptions, round(g.total_cost, 2)]
                for g in ranked
            ],
        ),
    ]
    return summary, charts, tables


# Geographic ------------------------------------------------------------------------------------
def geographic(db: Session, scope: ReportScope) -> Parts:
    places = client_queries.work_by_city(db, scope)
    gps = intervention_queries.interventions_by_city(db, scope)
    cities = {p.city for p in places}
    summary = [
        Metric("Cities", len(cities)),
        Metric("Tasks", sum(p.tasks for p in places)),
        Metric("Interventions", sum(g.interventions for g in gps)),
        Metric("Interventions with a position", sum(g.with_gps for g in gps)),
    ]
    by_city: dict[str, int] = {}
    for p in places:
        by_city[p.city] = by_city.get(p.city, 0) + p.tasks
    top = sorted(by_city.items(), key=lambda item: (-item[1], item[0]))[:10]
    charts = [
        Chart(
            "Tasks by city",
            "bar",
            [city for city, _ in top],
            [Series("Tasks", [float(n) for _, n in top])],
        ),
        pie("Tasks by city", [(city, float(n)) for city, n in top]),
    ]
    tables = [
        Table(
            "Work by place",
            [
                Column("city", "City"),
                Column("region", "Region"),
                Column("country", "Country"),
                Column("clients", "Clients", "int"),
                Column("tasks", "Tasks", "int"),
                Column("completed", "Completed", "int"),
            ],
            [[p.city, p.region, p.country, p.clients, p.tasks, p.done] for p in places],
        ),
        Table(
            "Intervention positions by city",
            [
                Column("city", "City"),
                Column("interventions", "Interventions", "int"),
                Column("with_gps", "With a position", "int"),
                Column("latitude", "Mean latitude", "decimal"),
                Column("longitude", "Mean longitude", "decimal"),
            ],
            [[g.city, g.interventions, g.with_gps, g.latitude, g.longitude] for g in gps],
        ),
    ]
    return summary, charts, tables
