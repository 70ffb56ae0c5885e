"""Dev sign-in for test clients, behind the ``auth`` and ``signed_in`` fixtures."""

import re


class AuthActions:
    """Sign a test client in and out quickly through dev sign-in, as flaskr's ``auth`` does.

    The demo users are ``ada``, ``sam`` and ``lena``; the full OpenID Connect flow
    has its own tests. CSRF tokens are picked from the page when CSRF is on.
    """

    def __init__(self, client):
        self.client = client

    def _token(self) -> dict:
        page = self.client.get("/login", follow_redirects=True).get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        return {"csrf_token": token.group(1)} if token else {}

    def login(self, subject="ada", next=None):
        data = {"subject": subject, **self._token()}
        if next is not None:
            data["next"] = next
        return self.client.post("/login/dev", data=data)

    def logout(self):
        return self.client.post("/logout", data=self._token())
