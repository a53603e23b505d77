async def test_health_and_ready(client, backend):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ok"
    assert ready["checks"]["database"] == "ok"
    # The production setup checks Redis as well; the embedded one has none to check.
    assert ("redis" in ready["checks"]) == (backend == "postgres")


async def test_openapi_is_served(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert "/api/help-requests" in r.json()["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_api_docs_need_no_network(client):
    # Every script and stylesheet the docs page loads is served by the service itself.
    import re

    html = (await client.get("/docs")).text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html) + re.findall(r"""url: ?['"]([^'"]+)['"]""", html)
    assert assets, "the docs page loads no assets?"
    for url in assets:
        assert url.startswith("/"), f"/docs loads {url} from elsewhere"
        assert (await client.get(url)).status_code == 200, url


async def test_unknown_route_uses_the_error_envelope(client):
    r = await client.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"] == "NotFound"
