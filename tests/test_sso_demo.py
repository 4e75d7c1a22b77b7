"""The README's single sign-on demo, run as a newcomer runs it: ``scripts/oidc-demo.sh``
starts the local OpenID provider and the demo server; the contact Jonas Becker signs
in through the provider (his account is made then), the visitor with a Contoso
address is refused; Ctrl-C stops both. Real processes on free loopback ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from oidc_provider import OidcProvider, free_port, log_in, need_provider

from unisupport.demo.sso import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)  # a real process starting: polled
    raise AssertionError(f"{url} never answered:\n{log.read_text()}")


def _sign_in(app: str, provider: OidcProvider, email: str) -> httpx.Response:
    with httpx.Client(base_url=app, headers={"Accept": "text/html"}, timeout=30) as browser:
        assert 'id="sso-contoso"' in browser.get("/sign-in").text
        start = browser.get("/sso/contoso/start")
        assert start.status_code == 303, start.text[:400]
        answer = browser.get(log_in(provider, start.headers["location"], email, PASSWORD))
        if answer.status_code == 303:
            return browser.get(answer.headers["location"])
        return answer


def test_the_readme_sso_demo_signs_a_contact_in_and_refuses_a_non_contact(tmp_path):
    need_provider()
    app_port, provider_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNISUPPORT_")} | {
        "UNISUPPORT_DATA_DIR": str(tmp_path / "data"),
        "UNISUPPORT_OIDC_DEMO_PORT": str(provider_port),
        "UNISUPPORT_DEMO_PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT / "src"),
    }
    with log.open("wb") as out:
        demo = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "oidc-demo.sh"), "--port", str(app_port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the whole group, as in a terminal
        )
    app = f"http://127.0.0.1:{app_port}"
    try:
        _wait_for(app + "/healthz", demo, log)
        provider = OidcProvider(tmp_path, port=provider_port)
        dashboard = _sign_in(app, provider, "jonas.becker@contoso.example")
        assert dashboard.status_code == 200 and dashboard.url.path == "/dashboard", dashboard.text[:400]
        refused = _sign_in(app, provider, "visitor@contoso.example")
        assert refused.status_code == 403 and 'data-reason="not-contact"' in refused.text
        printed = log.read_text()
        assert "jonas.becker@contoso.example (a contact)" in printed and "Single sign-on through contoso" in printed
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    with httpx.Client(timeout=2) as probe:  # both stopped
        for url in (app + "/healthz", f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration"):
            try:
                probe.get(url)
            except httpx.HTTPError:
                continue
            raise AssertionError(f"{url} still answers after Ctrl-C")
