"""A small HTML page at ``/`` until the web UI is mounted there: the shop's name, whether
the server and its database answer, and a link to the API documentation."""

from __future__ import annotations

import html
import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from rpma import __version__
from rpma.core.services import Services
from rpma.domains.settings.service import DEFAULT_COMPANY_NAME, company_name

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · RPMA</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; display: grid; place-items: center;
       min-height: 100vh; background: #f4f5f7; color: #1d2330; }}
main {{ background: #fff; padding: 2rem 2.5rem; border-radius: 12px;
       box-shadow: 0 2px 12px rgba(0,0,0,.08); max-width: 32rem; }}
h1 {{ margin: 0 0 .25rem; font-size: 1.6rem; }}
.status {{ font-weight: 600; color: {colour}; }}
a {{ color: #2456c9; }}
</style></head>
<body><main>
<h1>{name}</h1>
<p>RPMA {version} · server <span class="status">{status}</span></p>
<p>The web interface is not installed yet. The API is documented at
<a href="/docs">/docs</a>.</p>
</main></body></html>
"""


def render_landing(services: Services) -> str:
    name, status, colour = DEFAULT_COMPANY_NAME, "running, database unreachable", "#b42318"
    try:
        with services.db.session(write=False) as db:
            db.execute(text("SELECT 1"))
            name = company_name(db)
            status, colour = "running", "#1a7f37"
    except Exception:  # the page must show even when the database does not answer
        log.warning("landing page: the database did not answer", exc_info=True)
    return _PAGE.format(name=html.escape(name), version=__version__, status=status, colour=colour)


def mount_landing_page(app: FastAPI, services: Services) -> bool:
    """Serve the landing page at ``/`` unless something already answers there; answers
    whether it was mounted."""
    # A route at "/" or an app mounted at the root (Mount("/") keeps the path "").
    if any(getattr(route, "path", None) in ("/", "") for route in app.routes):
        return False

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def landing() -> HTMLResponse:
        return HTMLResponse(render_landing(services))

    return True
