from tests.factories import bearer, service_token


async def test_client_credentials_token_reaches_me(client, session):
    tok, api_client = await service_token(client, session, "users:read")
    r = await client.get("/api/v1/me", headers=bearer(tok))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "kind": "service",
        "client_id": api_client.client_id,
        "scopes": ["users:read"],
        "user": None,
    }
