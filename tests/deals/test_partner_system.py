"""A partner's own CRM registers and syncs deals with a client bound to its partner account
(`client_credentials`, scopes `deals:register leads:read`), as the issue describes: it sees its
partner's registrations and nothing of the other partner's."""

import pytest

from tests.deals.world import URL, deal, make_world, register


@pytest.fixture
async def world(client, session):
    return await make_world(client, session)


async def _system(client, w, partner) -> dict:
    r = await client.post(
        f"/api/v1/partners/{partner.id}/clients",
        json={"name": "Partner CRM", "scopes": ["deals:register", "leads:read"]},
        headers=w.ch,
    )
    assert r.status_code == 201, r.text
    creds = r.json()
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_partner_system_registers_and_syncs_its_deals(client, world):
    w = world
    a_sys, b_sys = await _system(client, w, w.a), await _system(client, w, w.b)
    r = await client.post(URL, json=deal("Acme Corp.", owner_id=str(w.a.rep.id)), headers=a_sys)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["status"] == "submitted" and mine["owner_id"] == str(w.a.rep.id)
    assert mine["partner_account_id"] == w.a.id
    by_rep = await register(client, w.a.rh, deal("Globex Inc."))
    theirs = await register(client, w.b.rh, deal("Initech LLC"))

    r = await client.get(URL, params={"limit": 200}, headers=a_sys)
    assert r.status_code == 200, r.text
    assert {x["id"] for x in r.json()["data"]} == {mine["id"], by_rep["id"]}
    r = await client.get(f"{URL}/{theirs['id']}", headers=a_sys)
    assert r.status_code == 404
    r = await client.post(f"{URL}/{theirs['id']}/withdraw", json={}, headers=a_sys)
    assert r.status_code == 404
    # It registers; it never decides.
    r = await client.post(f"{URL}/{mine['id']}/approve", json={}, headers=a_sys)
    assert r.status_code == 403
    r = await client.get(URL, params={"limit": 200}, headers=b_sys)
    assert {x["id"] for x in r.json()["data"]} == {theirs["id"]}
