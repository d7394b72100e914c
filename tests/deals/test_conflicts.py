"""Conflicts: registrations submitted earlier and open opportunities for the same customer (a
similar normalized company name or the same email domain) and product."""

import pytest

from app.deals import matching
from tests.deals.world import URL, World, deal, make_world, post, register


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("ACME, Inc.", "acme"),
        ("Acme Corp", "acme"),
        ("acme corporation LLC", "acme"),
        ("Müller & Söhne GmbH", "muller and sohne"),
        ("The Company", "the company"),
        ("Wayne Enterprises, Ltd.", "wayne enterprises"),
    ],
)
def test_company_names_are_normalized(name, normalized):
    assert matching.normalize_company(name) == normalized


def test_similar_names_match_and_different_ones_do_not():
    n = matching.normalize_company
    assert matching.same_company(n("Acme Corp."), n("ACME Inc"))
    assert matching.same_company(n("Wayne Enterprises"), n("Wayne Enterprizes Ltd"))
    assert matching.same_company(n("Enterprises Wayne"), n("Wayne Enterprises"))
    assert not matching.same_company(n("Acme"), n("Acme Bank"))
    assert not matching.same_company(n("Globex"), n("Initech"))


def test_customer_domain_skips_free_mail():
    assert matching.customer_domain("a@Acme.com", None) == "acme.com"
    assert matching.customer_domain("a@gmail.com", "https://www.acme.com/x") == "acme.com"
    assert matching.customer_domain("a@gmail.com", None) is None


async def test_second_registration_of_the_same_deal_is_flagged(client, world):
    w = world
    first = await register(client, w.a.rh, deal("Acme Corp."))
    assert first["has_conflicts"] is False
    second = await register(client, w.b.rh, deal("ACME, Inc."))
    assert second["has_conflicts"] is True
    assert "conflict_of_id" not in second  # partners do not learn whose it is
    seen = (await client.get(f"{URL}/{second['id']}", headers=w.ch)).json()
    assert seen["conflict_of_id"] == first["id"]
    # The channel manager sees the conflict, both ways.
    found = (await client.get(f"{URL}/{second['id']}/conflicts", headers=w.ch)).json()["data"]
    assert [(c["object_type"], c["id"]) for c in found] == [("deal_registrations", first["id"])]
    assert set(found[0]["matched_on"]) == {"company_name", "email_domain"}
    assert found[0]["same_product"] is True and found[0]["partner_account_id"] == w.a.id
    back = (await client.get(f"{URL}/{first['id']}/conflicts", headers=w.ch)).json()["data"]
    assert [c["id"] for c in back] == [second["id"]]
    # Neither partner sees the other's registration through the conflicts.
    for h, rid in ((w.b.rh, second["id"]), (w.a.rh, first["id"]), (w.b.mh, second["id"])):
        r = await client.get(f"{URL}/{rid}/conflicts", headers=h)
        assert r.status_code == 200 and r.json()["data"] == []
    # Filtering by the vendor's field is not open to partners (400, not an oracle).
    r = await client.get(URL, params={"conflict_of_id": first["id"]}, headers=w.b.mh)
    assert r.status_code == 400


async def test_same_email_domain_is_a_conflict_whatever_the_name(client, world):
    w = world
    first = await register(client, w.a.rh, deal("Acme Corp.", contact_email="cfo@acme.io"))
    second = await register(
        client, w.b.rh, deal("Roadrunner Holdings", contact_email="buyer@acme.io")
    )
    assert second["has_conflicts"] is True
    (c,) = (await client.get(f"{URL}/{second['id']}/conflicts", headers=w.ch)).json()["data"]
    assert c["id"] == first["id"] and c["matched_on"] == ["email_domain"]
    # Free-mail addresses say nothing about the customer.
    third = await register(
        client, w.b.rh, deal("Tyrell Corporation", contact_email="someone@gmail.com")
    )
    fourth = await register(
        client, w.a.rh, deal("Cyberdyne Systems", contact_email="other@gmail.com")
    )
    assert third["has_conflicts"] is False and fourth["has_conflicts"] is False


async def test_a_different_product_is_shown_but_not_flagged(client, world):
    w = world
    await register(client, w.a.rh, deal("Acme Corp.", product_interest="Rocket skates"))
    other = await register(client, w.b.rh, deal("Acme Corp.", product_interest="Giant magnet"))
    assert other["has_conflicts"] is False
    (c,) = (await client.get(f"{URL}/{other['id']}/conflicts", headers=w.ch)).json()["data"]
    assert c["same_product"] is False


async def test_open_opportunity_of_the_customer_is_a_conflict(client, world):
    w = world
    account = await post(client, w.ch, "accounts", {"name": "Initech LLC"})
    opp = await post(
        client,
        w.ch,
        "opportunities",
        {"name": "Initech renewal", "close_date": "2027-03-31", "account_id": account["id"]},
    )
    reg = await register(client, w.a.rh, deal("Initech", contact_email="peter@initech.example.org"))
    assert reg["has_conflicts"] is True
    found = (await client.get(f"{URL}/{reg['id']}/conflicts", headers=w.ch)).json()["data"]
    assert [(c["object_type"], c["id"]) for c in found] == [("opportunities", opp["id"])]
    # Drafts, withdrawn and rejected registrations hold nothing.
    draft = await post(client, w.b.rh, "deal-registrations", deal("Initech", draft=True))
    found = (await client.get(f"{URL}/{reg['id']}/conflicts", headers=w.ch)).json()["data"]
    assert draft["id"] not in [c["id"] for c in found]


def test_registrations_are_serialised_on_the_distinctive_word():
    n = matching.normalize_company
    assert matching.key_token(n("Acme Industries, Inc.")) == "acme"
    assert matching.key_token(n("ACME Corp")) == "acme"
    assert matching.key_token(n("Global Systems Group")) == "systems"  # nothing better
