"""Whom to believe about a request's client: the proxies in FORWARDED_ALLOW_IPS.

A forwarding header (X-Forwarded-For, X-Forwarded-Proto, CLIENT_IP_HEADER) is
believed only when the connection itself comes from one of those proxies. On
Fly.io that is Fly's proxy, which reaches the machine over IPv4 from its private
172.16.0.0/12; other machines of the organisation come over the private IPv6
network and may write any header they like.
"""

from __future__ import annotations

import ipaddress
import logging

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

log = logging.getLogger("files_server")

# At most this many peers get their ignored header logged (one line each).
_WARNED_LIMIT = 64


class TrustedProxies:
    """The peers named by FORWARDED_ALLOW_IPS: addresses, networks, or '*'."""

    def __init__(self, spec: str):
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.everyone = "*" in items
        # Strict, as uvicorn reads them (Settings refuses anything else).
        self.networks = [ipaddress.ip_network(item) for item in items if item != "*"]

    def __contains__(self, host: str) -> bool:
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class ClientAddressHeader:
    """The client's address from a header that the proxy in front sets itself,
    whatever the client sent (``Fly-Client-IP`` on Fly.io: CLIENT_IP_HEADER),
    believed only from a trusted proxy.

    uvicorn would take the address from the left of X-Forwarded-For, which the
    client writes: every guess at a password could claim a new address. So when
    the header is believed, it replaces X-Forwarded-For, and uvicorn's proxy
    middleware (inside this one, still seeing the proxy as the peer) takes the
    client's address from there and the scheme from X-Forwarded-Proto. A value
    that is not an IP address is ignored."""

    def __init__(self, app, header: str, trusted: TrustedProxies):
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.header_name = header
        self.trusted = trusted
        self.warned: set[str] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope = self._with_client(scope)
        return await self.app(scope, receive, send)

    def _with_client(self, scope) -> dict:
        # The last one: a proxy that appended its own would come after the client's.
        value = next((v for n, v in reversed(scope["headers"]) if n == self.header), None)
        if value is None:
            return scope
        peer = (scope.get("client") or ("", 0))[0]
        if peer not in self.trusted:
            self._warn_once(peer)
            return scope
        try:
            host = str(ipaddress.ip_address(value.decode("latin-1").strip()))
        except ValueError:
            return scope
        headers = [(n, v) for n, v in scope["headers"] if n != b"x-forwarded-for"]
        return {**scope, "headers": [*headers, (b"x-forwarded-for", host.encode())]}

    def _warn_once(self, peer: str) -> None:
        if peer in self.warned or len(self.warned) >= _WARNED_LIMIT:
            return
        self.warned.add(peer)
        log.warning("Ignored a %s header from %s, which is not in FORWARDED_ALLOW_IPS: "
                    "if %s is your proxy, add it there", self.header_name, peer, peer)


def behind_proxies(app, forwarded_allow_ips: str, client_ip_header: str):
    """``app`` with the forwarding headers of trusted proxies believed (none
    when FORWARDED_ALLOW_IPS is empty)."""
    if not forwarded_allow_ips:
        return app
    app = ProxyHeadersMiddleware(app, trusted_hosts=forwarded_allow_ips)
    if client_ip_header:
        app = ClientAddressHeader(app, client_ip_header, TrustedProxies(forwarded_allow_ips))
    return app
