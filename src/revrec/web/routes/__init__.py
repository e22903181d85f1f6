"""The web app's routers, one module per area; each page and its JSON twin under /api/v1 call
the same service function."""

from __future__ import annotations

from fastapi import APIRouter

from revrec.web.routes import (
    audit,
    auth,
    close,
    home,
    imports,
    jobs,
    journals,
    reports,
    setup,
    stage,
    workbench,
)

ROUTERS: list[APIRouter] = [
    module.router
    for module in (
        auth,
        home,
        imports,
        stage,
        workbench,
        reports,
        journals,
        close,
        jobs,
        setup,
        audit,
    )
]
