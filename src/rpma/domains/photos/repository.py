"""Every query on the photos table."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rpma.domains.photos.models import Photo


class PhotoRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def get(self, photo_id: str, *, lock: bool = False) -> Photo | None:
        query = select(Photo).where(Photo.id == photo_id)
        if lock:
            query = query.with_for_update()
        return self.db.scalar(query)

    def for_intervention(
        self,
        intervention_id: str,
        *,
        step_number: int | None = None,
        photo_type: str | None = None,
    ) -> list[Photo]:
        """Oldest first, so a step's photos read in the order they were taken."""
        query = select(Photo).where(Photo.intervention_id == intervention_id)
        if step_number is not None:
            query = query.where(Photo.step_number == step_number)
        if photo_type is not None:
            query = query.where(Photo.photo_type == photo_type)
        query = query.order_by(Photo.step_number, Photo.created_at, Photo.id)
        return list(self.db.scalars(query))

    def count_for_step(self, intervention_id: str, step_number: int) -> int:
        query = select(func.count()).where(
            Photo.intervention_id == intervention_id, Photo.step_number == step_number
        )
        return int(self.db.scalar(query.select_from(Photo)) or 0)

    def add_all(self, photos: list[Photo]) -> None:
        self.db.add_all(photos)
        self.db.flush()

    def delete(self, photo: Photo) -> None:
        self.db.delete(photo)
        self.db.flush()
