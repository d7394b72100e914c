"""The administration API: users, roles, API clients and /me."""

import uuid

from sqlalchemy import select

from app.models import ApiClient, Role, User
from tests.factories import bearer, make_user, service_token

EXECUTIVE = "0190f000-0000-7000-8000-000000000001"
SALES_REP = "0190f000-0000-7000-8000-000000000003"


async def _admin(client, session):
    tok, _ = await service_token(client, session, "admin users:read")
    return bearer(tok)


async def test_admin_creates_lists_gets_and_updates_a_user(client, session):
    h = await _admin(client, session)
    r = await client.post(
        "/api/v1/users",
        json={
            "email": "ann@example.com",
            "name": "Ann",
            "password": "long enough pw",
            "role_id": SALES_REP,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["role_id"] == SALES_REP and created["is_active"] is True
    assert "password" not in created and "password_hash" not in created
    row = await session.get(User, uuid.UUID(created["id"]))
    assert row.password_hash.startswith("$argon2id$")

    r = await client.get(f"/api/v1/users/{created['id']}", headers=h)
    assert r.status_code == 200 and r.json()["email"] == "ann@example.com"

    r = await client.patch(f"/api/v1/users/{created['id']}", json={"name": "Ann B"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Ann B"

    r = await client.get("/api/v1/users", params={"q": "ann@"}, headers=h)
    assert [u["id"] for u in r.json()["data"]] == [created["id"]]


async def test_user_list_paginates_with_cursor(client, session):
    h = await _admin(client, session)
    made = [await make_user(session, name=f"pager-{i}") for i in range(5)]
    seen = []
    cursor = None
    while True:
        params = {"limit": 2, "q": "pager-"}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/api/v1/users", params=params, headers=h)).json()
        seen += [u["id"] for u in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [str(u.id) for u in made]


async def test_bad_cursor_is_400_and_limit_over_max_is_422(client, session):
    h = await _admin(client, session)
    r = await client.get("/api/v1/users", params={"cursor": "!!!"}, headers=h)
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"
    r = await client.get("/api/v1/users", params={"limit": 201}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"


async def test_duplicate_email_is_409_regardless_of_case(client, session):
    h = await _admin(client, session)
    await make_user(session, email="dup@example.com")
    r = await client.post(
        "/api/v1/users", json={"email": "DUP@example.com", "name": "Dup"}, headers=h
    )
    assert r.status_code == 409 and r.json()["code"] == "duplicate_detected"


async def test_read_only_fields_in_body_are_422_naming_the_field(client, session):
    h = await _admin(client, session)
    user = await make_user(session)
    for field, value in (
        ("id", str(uuid.uuid4())),
        ("failed_logins", 0),
        ("kind", "portal"),
        ("is_active", True),
        ("password_hash", "x"),
    ):
        r = await client.patch(f"/api/v1/users/{user.id}", json={field: value}, headers=h)
        assert r.status_code == 422, field
        assert r.json()["errors"][0]["field"] == field
    await session.refresh(user)
    assert user.kind == "internal" and user.password_hash.startswith("$argon2id$")


async def test_unknown_user_is_404(client, session):
    h = await _admin(client, session)
    r = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await client.get("/api/v1/users/not-a-uuid", headers=h)
    assert r.status_code == 422


async def test_reader_without_admin_cannot_change_users(client, session):
    tok, _ = await service_token(client, session, "users:read")
    user = await make_user(session, name="Unchanged")
    r = await client.patch(f"/api/v1/users/{user.id}", json={"name": "X"}, headers=bearer(tok))
    assert r.status_code == 403 and r.json()["scope"] == "admin"
    r = await client.post(f"/api/v1/users/{user.id}/deactivate", headers=bearer(tok))
    assert r.status_code == 403
    await session.refresh(user)
    assert user.name == "Unchanged" and user.is_active


async def test_deactivate_and_reactivate(client, session):
    h = await _admin(client, session)
    user = await make_user(session)
    r = await client.post(f"/api/v1/users/{user.id}/deactivate", headers=h)
    assert r.status_code == 200
    assert r.json()["is_active"] is False and r.json()["deactivated_at"]
    r = await client.get("/api/v1/users", params={"is_active": "false"}, headers=h)
    assert str(user.id) in [u["id"] for u in r.json()["data"]]
    r = await client.post(f"/api/v1/users/{user.id}/reactivate", headers=h)
    assert r.json()["is_active"] is True and r.json()["deactivated_at"] is None


async def test_partner_user_needs_partner_account_and_cannot_be_admin(client, session):
    h = await _admin(client, session)
    r = await client.post(
        "/api/v1/users",
        json={"email": "p@partner.com", "name": "P", "kind": "partner"},
        headers=h,
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/users",
        json={
            "email": "p@partner.com",
            "name": "P",
            "kind": "partner",
            "is_admin": True,
            "partner_account_id": str(uuid.uuid4()),
            "partner_role": "partner_rep",
        },
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "is_admin"


async def test_partner_user_must_belong_to_an_enabled_partner(client, session):
    tok, _ = await service_token(client, session, "admin users:read accounts:write")
    h = bearer(tok)
    owner = await make_user(session)
    account = await client.post(
        "/api/v1/accounts", json={"name": "Not A Partner", "owner_id": str(owner.id)}, headers=h
    )
    assert account.status_code == 201, account.text
    for body, field in (
        ({"kind": "partner", "partner_role": "partner_rep"}, "partner_account_id"),
        ({"kind": "internal"}, "partner_account_id"),
        ({"kind": "internal", "partner_account_id": None, "partner_role": "partner_rep"}, None),
    ):
        body = {
            "email": "x@partner.com",
            "name": "X",
            "partner_account_id": account.json()["id"],
            **body,
        }
        r = await client.post("/api/v1/users", json=body, headers=h)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == (field or "partner_role")
    assert await session.scalar(select(User.id).where(User.email == "x@partner.com")) is None


async def test_standard_role_hierarchy_is_seeded(client, session):
    h = await _admin(client, session)
    body = (await client.get("/api/v1/roles", params={"limit": 200}, headers=h)).json()
    by_name = {r["name"]: r for r in body["data"]}
    assert by_name["Sales Rep"]["parent_id"] == by_name["Sales Manager"]["id"]
    assert by_name["Executive"]["parent_id"] is None


async def test_roles_create_update_and_refuse_cycles(client, session):
    h = await _admin(client, session)
    top = (await client.post("/api/v1/roles", json={"name": "Region"}, headers=h)).json()
    sub = (
        await client.post(
            "/api/v1/roles", json={"name": "Territory", "parent_id": top["id"]}, headers=h
        )
    ).json()
    r = await client.patch(f"/api/v1/roles/{top['id']}", json={"parent_id": sub["id"]}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "cycle"
    r = await client.patch(f"/api/v1/roles/{top['id']}", json={"parent_id": top["id"]}, headers=h)
    assert r.status_code == 422
    r = await client.post("/api/v1/roles", json={"name": "region"}, headers=h)
    assert r.status_code == 409
    r = await client.delete(f"/api/v1/roles/{top['id']}", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "role_in_use"
    assert (await client.delete(f"/api/v1/roles/{sub['id']}", headers=h)).status_code == 204
    assert await session.get(Role, uuid.UUID(sub["id"])) is None


async def test_api_client_secret_is_shown_once_and_rotates(client, session):
    h = await _admin(client, session)
    r = await client.post(
        "/api/v1/api-clients", json={"name": "nightly sync", "scopes": ["users:read"]}, headers=h
    )
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["client_secret"]
    assert secret.startswith("acs_")
    stored = await session.scalar(
        select(ApiClient).where(ApiClient.client_id == created["client_id"])
    )
    assert secret.encode() not in stored.secret_hash  # stored hashed
    listed = (await client.get("/api/v1/api-clients", headers=h)).json()["data"]
    assert all("client_secret" not in c for c in listed)
    got = (await client.get(f"/api/v1/api-clients/{created['id']}", headers=h)).json()
    assert "client_secret" not in got

    r = await client.post(f"/api/v1/api-clients/{created['id']}/rotate-secret", headers=h)
    new_secret = r.json()["client_secret"]
    assert new_secret != secret
    old = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], secret),
    )
    assert old.status_code == 401
    new = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], new_secret),
    )
    assert new.status_code == 200


async def test_revoked_api_client_cannot_get_tokens(client, session):
    h = await _admin(client, session)
    created = (
        await client.post(
            "/api/v1/api-clients", json={"name": "old", "scopes": ["users:read"]}, headers=h
        )
    ).json()
    r = await client.post(f"/api/v1/api-clients/{created['id']}/revoke", headers=h)
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_api_client_with_unknown_scope_or_bad_grants_is_422(client, session):
    h = await _admin(client, session)
    r = await client.post(
        "/api/v1/api-clients", json={"name": "x", "scopes": ["root:everything"]}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scopes"
    r = await client.post(
        "/api/v1/api-clients",
        json={
            "name": "spa",
            "scopes": ["users:read"],
            "public": True,
            "grant_types": ["client_credentials"],
        },
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grant_types"
    r = await client.post(
        "/api/v1/api-clients",
        json={"name": "spa", "scopes": ["users:read"], "grant_types": ["authorization_code"]},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "redirect_uris"
