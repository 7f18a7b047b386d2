"""The OpenAPI schema validates and Swagger UI is served from local static files."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate


def test_schema_is_valid_openapi_3(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/devices/", "/api/v1/status"} <= set(schema["paths"])
    # keyAsBasicPassword: Pushgateway clients and Prometheus' basic_auth send the key as the password.
    assert set(schema["components"]["securitySchemes"]) == {
        "bearerAuth",
        "apiKeyHeader",
        "cookieAuth",
        "keyAsBasicPassword",
    }
    # Writes are key-only: no session scheme on them.
    write_security = schema["paths"]["/api/v2/write"]["post"]["security"]
    assert {name for requirement in write_security for name in requirement} == {"bearerAuth", "apiKeyHeader"}


def test_docs_use_local_sidecar_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page)
    assert external == []
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page
    asset = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', page)
    assert asset is not None
    assert client.get(asset.group(1)).status_code == 200
