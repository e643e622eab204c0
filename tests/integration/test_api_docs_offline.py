"""Swagger UI and ReDoc load from the service itself: no CDN, so /docs works on an isolated network."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from opseval_intake.app import create_app as intake_app
from opseval_reporting.app import create_app as reporting_app

APPS = {"reporting": reporting_app, "intake": intake_app}


@pytest.fixture(params=sorted(APPS), scope="module")
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(APPS[request.param]())  # no lifespan: the pages need neither NATS nor a store


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
    referenced = [u for pair in urls for u in pair if u]
    assert referenced, html
    assert not [u for u in referenced if re.match(r"(https?:)?//", u)], referenced
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    for url in referenced:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


def test_the_openapi_document_still_lists_the_api_but_not_the_doc_pages(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/healthz" in paths
    assert not {"/docs", "/redoc"} & set(paths)
