"""Materials and the stock ledger (DOMAIN.md "Materials and stock"; docs/MATERIALS.md)."""
