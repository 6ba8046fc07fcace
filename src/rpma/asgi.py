"""The ASGI entry point for uvicorn (and its worker processes): settings from RPMA_*."""

from rpma.app import create_app

app = create_app()
