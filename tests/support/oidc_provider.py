"""A real OpenID Connect provider for the tests: oidc-provider-mock on a free loopback port.

It serves discovery, JWKS, the authorization page and the token endpoint over
plain HTTP on localhost, signs real ID tokens and insists on a nonce, so the
app's Authlib client runs exactly the code it runs against Google. The
``oidc_provider`` fixture (tests/conftest.py) runs one for the whole session.
"""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

# Authlib turns its deprecation warnings on ("always") when it first loads; loaded here,
# before the filter below, it cannot override that filter.
import authlib.deprecate  # noqa: F401
import pytest
import requests

# The provider is built on parts of Authlib that Authlib now deprecates: that is the
# tool's business, not ours, so its import and its token endpoint stay quiet.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import run_server_in_thread

# Put on every test module that talks to the provider (``pytestmark = QUIET_PROVIDER``).
QUIET_PROVIDER = pytest.mark.filterwarnings(
    r"ignore:get_jwt_config\(self, grant\) is deprecated:DeprecationWarning"
)
TIMEOUT = 10


@dataclass
class Provider:
    """Drive the provider's side of a sign-in as the person at the browser would."""

    issuer: str

    def set_user(self, subject: str, **claims) -> None:
        """Make the provider answer for ``subject`` with ``claims`` from now on."""
        requests.put(f"{self.issuer}/users/{subject}", json=claims, timeout=TIMEOUT)

    def consent(self, authorize_url: str, subject: str) -> str:
        """Approve the sign-in as ``subject``; return the URL the browser is sent back to."""
        return self._answer(authorize_url, {"sub": subject})

    def deny(self, authorize_url: str) -> str:
        """Refuse the sign-in; return the URL the browser is sent back to."""
        return self._answer(authorize_url, {"action": "deny"})

    def _answer(self, authorize_url: str, form: dict) -> str:
        response = requests.post(authorize_url, data=form, allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302, response.text
        return response.headers["Location"]


@contextmanager
def provider_in_thread():
    """Run a provider that requires a nonce until the block ends; yield a ``Provider``."""
    with run_server_in_thread(port=0, require_nonce=True) as server:
        yield Provider(f"http://localhost:{server.server_port}")
