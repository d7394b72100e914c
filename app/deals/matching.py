"""Who is the customer: normalized company names, email domains and fuzzy similarity, the keys
deal registrations are compared by to find conflicts (app/deals/service.py)."""

import re
import unicodedata
from urllib.parse import urlsplit

from rapidfuzz import fuzz

# Two normalized names at least this similar (0-100) name the same customer.
SIMILARITY = 88

LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "gmbh",
        "mbh",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "pty",
        "kg",
        "oy",
        "ab",
        "as",
        "aps",
        "kk",
        "pte",
        "pvt",
        "the",
    }
)
# Addresses at these say nothing about the customer's company.
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)

# Words too common in company names to tell customers apart: never the key word.
GENERIC = frozenset(
    {
        "and",
        "group",
        "holding",
        "holdings",
        "industries",
        "international",
        "global",
        "systems",
        "solutions",
        "services",
        "technologies",
        "technology",
        "enterprises",
        "partners",
        "consulting",
        "software",
        "labs",
        "worldwide",
    }
)

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalize_company(name: str) -> str:
    """``"ACME, Inc."`` -> ``"acme"``: lower case, accents, punctuation and legal suffixes
    removed ("&" reads as "and")."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _PUNCT.sub(" ", text.lower().replace("&", " and ").replace(".", ""))
    words = [w for w in _SPACE.split(text) if w and w not in LEGAL_SUFFIXES]
    if not words:  # a name made only of suffixes ("The Company") stays itself
        words = [w for w in _SPACE.split(text) if w]
    return " ".join(words)[:255]


def _host(value: str) -> str | None:
    value = value.strip().lower()
    if not value:
        return None
    host = urlsplit(value if "//" in value else f"//{value}").hostname or ""
    host = host.removeprefix("www.")
    return host or None


def customer_domain(email: str | None, website: str | None) -> str | None:
    """The customer's own domain: the contact's email domain unless it is a free-mail
    provider's, else the website's host."""
    if email and "@" in email:
        domain = email.rsplit("@", 1)[1].strip().lower()
        if domain and domain not in FREE_MAIL:
            return domain[:255]
    if website:
        host = _host(website)
        if host and host not in FREE_MAIL:
            return host[:255]
    return None


def distinctive_words(normalized: str) -> list[str]:
    """The words of a normalized name that tell customers apart (not generic, 3+ letters);
    candidates for fuzzy comparison must contain one of them."""
    words = normalized.split()
    best = [w for w in words if len(w) >= 3 and w not in GENERIC]
    return best or [w for w in words if len(w) >= 3] or [normalized]


def key_token(normalized: str) -> str:
    """The most distinctive word of a normalized name (the longest non-generic one):
    registrations of the same customer are serialised on it."""
    return max(distinctive_words(normalized), key=len)


def similarity(a: str, b: str) -> float:
    """0-100: how alike two normalized company names are (word order does not matter)."""
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def same_company(a: str, b: str) -> bool:
    return similarity(a, b) >= SIMILARITY


def same_product_text(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True  # unknown: it may be the same
    return similarity(normalize_company(a), normalize_company(b)) >= SIMILARITY
