"""Email templates: CRUD through the resource machinery, a render check at save time, preview
against a record, and a sandbox that hostile templates cannot get out of."""

import pytest

from tests.factories import bearer, post_ok, service_token, user_token

HELLO = {
    "name": "Welcome",
    "subject": "Hello {{ contact.first_name }} at {{ account.name }}",
    "html_body": "<p>Dear {{ contact.name }},</p><p>{{ user.name }} here.</p>",
    "text_body": "Dear {{ contact.first_name }}, from {{ account.name }} ({{ user.email }})",
    "object_type": "contact",
    "folder": "Sales",
}

# Text that must never appear in an answer: internals of the process or the server.
LEAKS = ("Traceback", "/work", "site-packages", "app.", "<class", "postgres", "builtins", "os.")

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ contact.__class__ }}",
    "{{ contact.__dict__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request }}",
    "{{ self.__init__.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ '{0.__class__}'.format(contact) }}",
    "{{ contact.first_name.__class__.__base__.__subclasses__() }}",
    "{{ contact|attr('__class__') }}",
    "{% import os %}",
    "{% import 'os' as os %}{{ os.system('id') }}",
    "{% include '/etc/passwd' %}",
    "{% extends 'base.html' %}",
    "{% from 'os' import system %}",
    "{{ contact.update({'a': 1}) }}",
    "{% for x in %}",
]


async def test_template_crud_and_preview_merges_a_contact_and_its_account(client, rep):
    _, h = rep
    account = await post_ok(client, h, "accounts", {"name": "Acme & Sons"})
    contact = await post_ok(
        client,
        h,
        "contacts",
        {
            "first_name": "<b>Ada</b>",
            "last_name": "Lovelace",
            "email": "ada@acme.example.com",
            "account_id": account["id"],
        },
    )
    template = await post_ok(client, h, "email-templates", HELLO)
    assert template["is_active"] is True and template["object_type"] == "contact"
    r = await client.post(
        f"/api/v1/email-templates/{template['id']}/preview",
        json={"related_type": "contact", "related_id": contact["id"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["subject"] == "Hello <b>Ada</b> at Acme & Sons"
    # HTML is autoescaped; the text part is not.
    assert "Dear &lt;b&gt;Ada&lt;/b&gt; Lovelace," in out["html_body"]
    assert "Rita Rep here." in out["html_body"]
    assert out["text_body"].startswith("Dear <b>Ada</b>, from Acme & Sons (")
    # With no record every merge field is empty, never "None".
    r = await client.post(f"/api/v1/email-templates/{template['id']}/preview", json={}, headers=h)
    assert r.json()["subject"] == "Hello at"  # one line, spaces collapsed
    assert "None" not in r.text


async def test_preview_of_a_record_the_caller_cannot_read_is_404(client, rep, other):
    _, h = rep
    _, outsider = other
    lead = await post_ok(client, h, "leads", {"last_name": "Hopper", "company": "Navy"})
    template = await post_ok(client, outsider, "email-templates", {**HELLO, "object_type": "lead"})
    r = await client.post(
        f"/api/v1/email-templates/{template['id']}/preview",
        json={"related_type": "lead", "related_id": lead["id"]},
        headers=outsider,
    )
    assert r.status_code == 404


async def test_unknown_merge_field_is_refused_at_save_with_the_part_named(client, rep):
    _, h = rep
    body = {**HELLO, "text_body": "Hi {{ contact.frist_name }}"}
    err = await post_ok(client, h, "email-templates", body, status=422)
    assert err["code"] == "invalid_template"
    assert err["errors"][0]["field"] == "text_body"
    assert "frist_name" in err["errors"][0]["message"]


async def test_template_needs_a_body(client, rep):
    _, h = rep
    err = await post_ok(
        client, h, "email-templates", {"name": "Empty", "subject": "Hi"}, status=422
    )
    assert err["errors"][0]["code"] == "required"


async def test_custom_fields_and_every_object_are_merge_fields(client, session, rep):
    _, h = rep
    tok, _ = await service_token(client, session, "admin")
    admin_h = bearer(tok)
    r = await client.post(
        "/api/v1/custom-fields",
        json={"object": "leads", "name": "region", "label": "Region", "type": "text"},
        headers=admin_h,
    )
    assert r.status_code == 201, r.text
    body = {
        **HELLO,
        "subject": "{{ lead.company }} {{ lead.custom_fields.region }} {{ opportunity.amount }}",
    }
    template = await post_ok(client, h, "email-templates", body)
    lead = await post_ok(
        client,
        h,
        "leads",
        {"last_name": "Hopper", "company": "Navy", "custom_fields": {"region": "EMEA"}},
    )
    r = await client.post(
        f"/api/v1/email-templates/{template['id']}/preview",
        json={"related_type": "lead", "related_id": lead["id"]},
        headers=h,
    )
    assert r.json()["subject"] == "Navy EMEA"


@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("part", ["subject", "html_body", "text_body"])
async def test_template_reaching_outside_its_data_is_refused_without_leaking(
    client, rep, source, part
):
    _, h = rep
    err = await post_ok(client, h, "email-templates", {**HELLO, part: source}, status=422)
    assert err["code"] == "invalid_template"
    assert err["errors"][0]["field"] == part
    text = str(err)
    for leak in LEAKS:
        assert leak not in text, (leak, text)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "took longer than",
        ),
        ("{{ 'x' * 2000000 }}", "longer than 1,000,000 characters"),
        ("{% for i in range(100000) %}{{ 'xxxxxxxxxxx' }}{% endfor %}", "longer than 1,000,000"),
        ("{{ 'x' * 10000000000 }}", "memory"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recurses"),
    ],
)
async def test_runaway_templates_fail_cleanly(client, rep, source, reason):
    _, h = rep
    err = await post_ok(client, h, "email-templates", {**HELLO, "html_body": source}, status=422)
    assert err["code"] == "invalid_template"
    assert reason in err["errors"][0]["message"], err
    # The renderer is still there for the next template.
    await post_ok(client, h, "email-templates", HELLO)


async def test_update_renders_the_changed_part_and_keeps_the_template_on_error(client, rep):
    _, h = rep
    template = await post_ok(client, h, "email-templates", HELLO)
    url = f"/api/v1/email-templates/{template['id']}"
    r = await client.patch(url, json={"html_body": "{{ ''.__class__ }}"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "html_body"
    r = await client.patch(url, json={"html_body": "<p>Hi {{ contact.first_name }}</p>"}, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await client.patch(url, json={"html_body": None, "text_body": None}, headers=h)
    assert r.status_code == 422


async def test_templates_need_their_scopes(client, session, rep):
    user, _ = rep
    reader = await user_token(client, session, user, "email_templates:read")
    r = await client.post("/api/v1/email-templates", json=HELLO, headers=reader)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert (await client.get("/api/v1/email-templates", headers=reader)).status_code == 200
    assert (await client.get("/api/v1/email-templates")).status_code == 401
