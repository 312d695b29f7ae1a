"""A client that writes its own X-Forwarded-For (issue 21, item 1): per-address limits must
count the address the connection comes from, not one the client picks. Real HTTP against
the study's Blocks on 127.0.0.1, as a proxy or tunnel on the same machine would connect."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from app.client_address import client_address
from app.study.ui import BUSY
from tests.study_helpers import make_config, make_service, serving

pytestmark = pytest.mark.abuse


def _client(url: str, forwarded: str) -> object:
    from gradio_client import Client

    return Client(url, verbose=False, headers={"X-Forwarded-For": forwarded})


def _consents(url: str, forwarded: list[str]) -> list[tuple]:
    """One consent per forged header value, each from a fresh client (a new browser)."""
    return [_client(url, f).predict(True, None, "", api_name="/consent") for f in forwarded]


def test_rotating_forwarded_for_buys_no_extra_consents(tmp_path: Path) -> None:
    svc = make_service(make_config(tmp_path, limits={"consent_per_ip": 4}))
    with serving(svc) as url:
        outs = _consents(url, [f"198.51.100.{i}" for i in range(10)])
    made = [o for o in outs if o[0]]
    assert len(made) == 4 and len(svc.store.participants()) == 4, "the header opened new budgets"
    assert all(o[-2] == BUSY for o in outs if not o[0])


def test_rotating_forwarded_for_buys_no_extra_token_guesses(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, limits={"token_failures_per_ip": 5, "token_failures_global": 50,
                                        "token_lockout_s": 60})
    with serving(make_service(cfg)) as url:
        notes = [_client(url, f"203.0.113.{i}").predict(f"guess-{i}",
                                                        api_name="/researcher_dashboard")[0]
                 for i in range(8)]
    assert notes[:4] == ["Wrong or missing token."] * 4
    assert all("Too many wrong tokens" in n for n in notes[4:]), notes  # the 5th locks


def test_a_trusted_proxy_is_read_from_the_right(tmp_path: Path) -> None:
    """Behind a proxy that appends the address it saw, the right-most entry is the caller;
    the entries left of it are whatever the client sent."""
    cfg = make_config(tmp_path, limits={"consent_per_ip": 3, "trust_forwarded_for": True})
    svc = make_service(cfg)
    with serving(svc) as url:
        forged = _consents(url, [f"10.9.8.{i}, 192.0.2.50" for i in range(6)])
        other = _consents(url, ["10.9.8.1, 192.0.2.51"])
    assert sum(bool(o[0]) for o in forged) == 3, "the client's own entries opened new budgets"
    assert other[0][0], "another address behind the same proxy is counted on its own"


def _request(peer: str, *forwarded: str) -> SimpleNamespace:
    return SimpleNamespace(client=SimpleNamespace(host=peer),
                           headers={"x-forwarded-for": ", ".join(forwarded)} if forwarded else {})


def test_which_address_is_taken() -> None:
    req = _request("127.0.0.1", "6.6.6.6, 1.2.3.4", "5.6.7.8")
    assert client_address(req) == "127.0.0.1"  # not trusted: the TCP peer, whatever is sent
    assert client_address(req, trust_forwarded_for=True) == "5.6.7.8"  # the proxy's entry
    assert client_address(req, True, hops=2) == "1.2.3.4"  # two proxies, each appending
    assert client_address(req, True, hops=9) == "6.6.6.6"  # a shorter chain: its oldest entry
    assert client_address(_request("10.0.0.2"), True) == "10.0.0.2"  # no header: the peer
    assert client_address(None) == "unknown"


def test_one_subscriber_is_one_address() -> None:
    """An IPv6 subscriber picks any source address in its /64: they all count as one."""
    one, two = (client_address(_request(f"2001:db8:1:2::{i:x}")) for i in (1, 0xBEEF))
    assert one == two == "2001:db8:1:2::/64"
    assert client_address(_request("2001:db8:1:3::1")) != one
    assert client_address(_request("::ffff:192.0.2.7")) == "192.0.2.7"
    assert client_address(_request("127.0.0.1", "198.51.100.9:41234"), True) == "198.51.100.9"
    assert client_address(_request("127.0.0.1", "[2001:db8::5]:443"), True) == "2001:db8::/64"
    assert client_address(_request("127.0.0.1", "x" * 500), True) == "x" * 100
