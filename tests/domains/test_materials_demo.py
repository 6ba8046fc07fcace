"""`rpma demo`'s stock room: materials, four months of ledger and the material used on
the demo's interventions, every balance equal to the sum of its ledger."""

from __future__ import annotations

from sqlalchemy import func, select

from rpma.demo import DemoSize, build_demo
from rpma.domains.materials.models import Material, MaterialConsumption, MaterialTransaction
from rpma.domains.materials.rules import is_expired
from tests.conftest import LiveServer
from tests.helpers import count


def test_demo_builds_a_stock_room_that_balances(server: LiveServer) -> None:
    services = server.services
    size = DemoSize(technicians=2, clients=6, tasks=40, interventions=4)
    with services.db.session(write=True) as db:
        build_demo(db, services.passwords, size, lambda _n, _k: None, None, services=services)
        db.commit()
    with services.db.session(write=True) as db:  # a second run (--force) adds none
        build_demo(
            db,
            services.passwords,
            DemoSize(technicians=0, clients=1, tasks=1, seed=7),
            lambda _n, _k: None,
            None,
        )
        db.commit()
    assert count(services, "materials") == 12
    with services.db.session(write=False) as db:
        totals = select(
            MaterialTransaction.material_id, func.sum(MaterialTransaction.quantity_milli)
        ).group_by(MaterialTransaction.material_id)
        sums = {material_id: int(total) for material_id, total in db.execute(totals)}
        materials = list(db.scalars(select(Material)))
        for row in materials:
            assert row.current_stock_milli == sums[row.id] >= 0, row.sku
        rows = db.scalars(select(MaterialTransaction)).all()
        for row_ in rows:
            assert row_.new_stock_milli == row_.previous_stock_milli + row_.quantity_milli >= 0
        kinds = {t.transaction_type for t in rows}
        assert kinds == {"stock_in", "stock_out", "waste", "adjustment"}
        assert sum(is_expired(m, 2**62) for m in materials) >= 1
        assert sum(m.is_discontinued for m in materials) == 1
        consumed = db.scalar(select(func.count()).select_from(MaterialConsumption))
    assert consumed
