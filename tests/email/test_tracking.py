"""Tracking: a public open pixel and signed click redirects, recorded per recipient and summed
per mass send; a tampered or unsigned link is a 400 and redirects nowhere."""

import re
import uuid
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

from tests.factories import post_ok

HTML = (
    "<html><body><p>Hi {{ lead.first_name }}</p>"
    '<a href="https://example.com/pricing?a=1&amp;b=2">Pricing</a> '
    "<a href='http://example.com/docs'>Docs</a> "
    '<a href="mailto:sales@example.com">Mail us</a></body></html>'
)


async def _lead(client, h, tag="t"):
    return await post_ok(
        client,
        h,
        "leads",
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "Navy",
            "email": f"{tag}-{uuid.uuid4().hex[:6]}@navy.example",
        },
    )


def _links(msg) -> tuple[list[str], str]:
    html = msg.get_body(("html",)).get_content()
    links = [unescape(x) for x in re.findall(r'href=["\']([^"\']+)["\']', html)]
    (pixel,) = re.findall(r'<img src="([^"]+)"', html)
    return links, unescape(pixel)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


async def _sent_tracked(client, h, smtp_server, run_jobs, **body):
    lead = await _lead(client, h)
    sent = await post_ok(
        client, h, f"leads/{lead['id']}/emails", {"subject": "Hi", "html_body": HTML, **body}, 202
    )
    await run_jobs()
    (msg,) = smtp_server.inbox.to(lead["email"])
    return sent, msg


async def test_pixel_and_signed_clicks_are_recorded_on_the_email(
    client, rep, smtp_server, run_jobs
):
    _, h = rep
    sent, msg = await _sent_tracked(client, h, smtp_server, run_jobs)
    links, pixel = _links(msg)
    assert pixel.startswith("http://localhost:8000/t/o/") and pixel.endswith(".gif")
    pricing, docs, mailto = links
    assert pricing.startswith("http://localhost:8000/t/c/")
    assert parse_qs(urlsplit(pricing).query)["u"] == ["https://example.com/pricing?a=1&b=2"]
    assert docs.startswith("http://localhost:8000/t/c/")
    assert mailto == "mailto:sales@example.com"  # only http(s) links are tracked
    # The stored body is the one rendered, without tracking.
    email = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()
    assert "/t/c/" not in email["html_body"]
    assert email["tracking"]["open_count"] == 0

    for _ in range(2):
        r = await client.get(_path(pixel))  # no credentials: mail clients have none
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
        assert r.content.startswith(b"GIF89a") and "no-store" in r.headers["cache-control"]
    r = await client.get(_path(pricing))
    assert r.status_code == 302
    assert r.headers["location"] == "https://example.com/pricing?a=1&b=2"
    await client.get(_path(pricing))
    await client.get(_path(docs))

    tracking = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()["tracking"]
    assert tracking["open_count"] == 2
    assert tracking["first_opened_at"] <= tracking["last_opened_at"]
    assert tracking["click_count"] == 3 and tracking["first_clicked_at"]
    assert [(c["url"], c["count"]) for c in tracking["clicks"]] == [
        ("https://example.com/pricing?a=1&b=2", 2),
        ("http://example.com/docs", 1),
    ]


async def test_tampered_or_unsigned_links_are_400_and_never_redirect(
    client, rep, smtp_server, run_jobs
):
    _, h = rep
    sent, msg = await _sent_tracked(client, h, smtp_server, run_jobs)
    _other, other_msg = await _sent_tracked(client, h, smtp_server, run_jobs)
    (pricing, _, _), _ = _links(msg)
    (other_pricing, _, _), _ = _links(other_msg)
    parts = urlsplit(pricing)
    token = parts.path.rsplit("/", 1)[1]
    q = parse_qs(parts.query)
    url, sig = q["u"][0], q["s"][0]
    evil = quote("https://evil.example/phish", safe="")
    other_sig = parse_qs(urlsplit(other_pricing).query)["s"][0]
    for path in (
        f"/t/c/{token}?u={evil}&s={sig}",  # another URL with this link's signature
        f"/t/c/{token}?u={evil}",  # unsigned
        f"/t/c/{token}?u={quote(url, safe='')}",  # the right URL, unsigned
        f"/t/c/{token}?u={quote(url, safe='')}&s={sig[:-2]}AA",  # a changed signature
        f"/t/c/{token}?u={quote(url, safe='')}&s={other_sig}",  # another message's signature
        f"/t/c/{token[:-1]}x?u={quote(url, safe='')}&s={sig}",  # another token
        f"/t/c/{token}?s={sig}",  # no URL
        f"/t/c/{token}?u=javascript%3Aalert(1)&s={sig}",
    ):
        r = await client.get(path)
        assert r.status_code == 400, path
        assert "location" not in r.headers
        assert r.json()["code"] == "invalid_link"
    tracking = (await client.get(f"/api/v1/emails/{sent['id']}", headers=h)).json()["tracking"]
    assert tracking["click_count"] == 0 and tracking["clicks"] == []


async def test_unknown_pixel_token_answers_the_same_pixel(client):
    r = await client.get("/t/o/not-a-real-token.gif")
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"


async def test_untracked_email_has_no_pixel_and_plain_links(client, rep, smtp_server, run_jobs):
    _, h = rep
    _, msg = await _sent_tracked(client, h, smtp_server, run_jobs, track=False)
    html = msg.get_body(("html",)).get_content()
    assert "/t/o/" not in html and "/t/c/" not in html
    assert 'href="https://example.com/pricing?a=1&amp;b=2"' in html


async def test_mass_email_summary_counts_opens_and_clicks(client, rep, smtp_server, run_jobs):
    _, h = rep
    campaign = await post_ok(client, h, "campaigns", {"name": "Tracked"})
    leads = [await _lead(client, h, f"m{i}") for i in range(3)]
    for lead in leads:
        await post_ok(
            client, h, "campaign-members", {"campaign_id": campaign["id"], "lead_id": lead["id"]}
        )
    mass = await post_ok(
        client,
        h,
        "mass-emails",
        {"campaign_id": campaign["id"], "subject": "Hi", "html_body": HTML},
        202,
    )
    await run_jobs()
    first = _links(smtp_server.inbox.to(leads[0]["email"])[0])
    second = _links(smtp_server.inbox.to(leads[1]["email"])[0])
    for _ in range(3):
        await client.get(_path(first[1]))
    await client.get(_path(second[1]))
    await client.get(_path(first[0][0]))
    await client.get(_path(second[0][0]))
    await client.get(_path(second[0][1]))
    summary = (await client.get(f"/api/v1/mass-emails/{mass['id']}", headers=h)).json()["summary"]
    assert summary["sent"] == 3
    assert summary["opened"] == 2 and summary["opens"] == 4
    assert summary["clicked"] == 2 and summary["clicks"] == 3
    assert summary["links"] == [
        {"url": "https://example.com/pricing?a=1&b=2", "clicks": 2, "recipients": 2},
        {"url": "http://example.com/docs", "clicks": 1, "recipients": 1},
    ]
