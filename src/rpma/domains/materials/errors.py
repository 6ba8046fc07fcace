"""The materials domain's errors: every one a 400 or 404 of the AppError family, with a
code in the seed's style."""

from __future__ import annotations

from typing import Final

from rpma.core.errors import NotFound, ValidationFailed

NOT_FOUND_MATERIAL: Final = "NOT_FOUND_MATERIAL"
INSUFFICIENT_STOCK: Final = "VALIDATION_INSUFFICIENT_STOCK"
SKU_TAKEN: Final = "VALIDATION_SKU_TAKEN"
MATERIAL_UNUSABLE: Final = "VALIDATION_MATERIAL_UNUSABLE"
STOCK_LIMIT: Final = "VALIDATION_STOCK_LIMIT"


class MaterialNotFound(NotFound):
    default_code = NOT_FOUND_MATERIAL
    default_message = "Material not found"


class InsufficientStock(ValidationFailed):
    """The stock does not cover the movement; nothing moved."""

    default_code = INSUFFICIENT_STOCK
    default_message = "Insufficient stock"


class SkuTaken(ValidationFailed):
    default_code = SKU_TAKEN
    default_message = "SKU already in use"


class MaterialUnusable(ValidationFailed):
    """Inactive, discontinued or expired material cannot be consumed."""

    default_code = MATERIAL_UNUSABLE
    default_message = "The material cannot be used"


class StockLimitExceeded(ValidationFailed):
    default_code = STOCK_LIMIT
    default_message = "The stock would exceed the largest balance kept"
