"""CONTRACT.md section 4: lists take ``{page, page_size}`` and answer ``pagination``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rpma.core.commands import IpcRequest

MAX_PAGE_SIZE = 200


class Pagination(IpcRequest):
    """Page from 1, page_size 1..200 (default 20)."""

    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class PageInfo(BaseModel):
    page: int
    page_size: int
    total: int
    total_pages: int

    @classmethod
    def of(cls, pagination: Pagination, total: int) -> PageInfo:
        pages = (total + pagination.page_size - 1) // pagination.page_size
        return cls(
            page=pagination.page, page_size=pagination.page_size, total=total, total_pages=pages
        )
