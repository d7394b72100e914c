"""Which target URLs webhooks may call. A URL whose host is, or resolves to, a private,
loopback, link-local, shared, reserved or multicast address is refused (server-side request
forgery into the internal network), unless the host or its network is in
``ACCORD_WEBHOOK_ALLOWED_HOSTS``. Checked when a subscription is saved and again on every
delivery, on the addresses the connection then uses (no DNS rebinding window)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedTarget(Exception):
    pass


def _normal(ip: IP) -> IP:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public(ip: IP) -> bool:
    ip = _normal(ip)
    return ip.is_global and not ip.is_multicast


class Allowlist:
    def __init__(self, entries: list[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.rstrip("."))

    def host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def address(self, ip: IP) -> bool:
        ip = _normal(ip)
        return any(ip in n for n in self.networks)

    def permits(self, host: str, ip: IP) -> bool:
        return is_public(ip) or self.host(host) or self.address(ip)


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("The URL must start with https:// or http://")
    if not parts.hostname:
        raise ValueError("The URL has no host")
    if parts.username or parts.password:
        raise ValueError("The URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError("The URL has an invalid port") from exc
    return parts.scheme, parts.hostname, port


def literal_ip(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def check(url: str, allow: Allowlist) -> None:
    """Raise BlockedTarget (or ValueError for a malformed URL) unless ``url`` may be called."""
    _, host, port = parse(url)
    ip = literal_ip(host)
    if ip is not None:
        if not allow.permits(host, ip):
            raise BlockedTarget(f"{host} is a private or reserved address")
        return
    if allow.host(host):
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BlockedTarget(f"{host} cannot be resolved") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not allow.permits(host, addr):
            raise BlockedTarget(f"{host} resolves to a private or reserved address ({addr})")


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses hosts resolving to addresses the allowlist does not
    permit: the check and the connection use the same answer."""

    def __init__(self, allow: Allowlist) -> None:
        self.allow = allow
        self.inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for r in results:
            addr = ipaddress.ip_address(r["host"].split("%")[0])
            if not self.allow.permits(host, addr):
                raise BlockedTarget(f"{host} resolves to a private or reserved address ({addr})")
        return results

    async def close(self) -> None:
        await self.inner.close()
