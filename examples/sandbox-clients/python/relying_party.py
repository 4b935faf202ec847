"""A relying party for `careid sandbox` with Python's Authlib (Debian: apt install python3-authlib).

Discovery, the authorization-code flow with PKCE (S256), state and nonce, the code exchanged with
client_secret_post, the ID token's signature, issuer, audience and nonce checked, and UserInfo.
Run the sandbox, then:

    python3 examples/sandbox-clients/python/relying_party.py

and open http://localhost:3001/login. SANDBOX_ISSUER, CLIENT_ID, CLIENT_SECRET, HOST and PORT
change the defaults (the example client the sandbox's first personas file registers).
"""

import http.cookies
import json
import os
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

ISSUER = os.environ.get(
    "SANDBOX_ISSUER",
    "http://localhost:3000/sandbox/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare",
)
CLIENT_ID = os.environ.get("CLIENT_ID", "sandbox-example.apps.local")
CLIENT_SECRET = os.environ.get("CLIENT_SECRET", "sandbox-example-secret-never-used-outside-the-sandbox")
HOST = os.environ.get("HOST", "localhost")
PORT = int(os.environ.get("PORT", "3001"))
SCOPE = "openid profile email nhsperson nationalrbacaccess associatedorgs selectedrole"
REDIRECT_URI = f"http://{HOST}:{PORT}/callback"

# The sandbox is plain HTTP on this machine; Authlib refuses that unless told. Never for a real issuer.
if ISSUER.startswith("http://"):
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

metadata = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
if metadata["issuer"] != ISSUER:
    raise SystemExit(f"discovery names issuer {metadata['issuer']}, not {ISSUER}")

# Sign-ins under way, by the browser's cookie.
pending = {}


def new_session():
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
    )


class RelyingParty(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urlparse(self.path).path
        try:
            if path == "/login":
                self.sign_in()
            elif path == "/callback":
                self.callback()
            else:
                self.send_json(200, {"signIn": f"http://{HOST}:{PORT}/login", "issuer": ISSUER})
        except Exception as error:  # an example shows what went wrong
            self.send_json(502, {"error": type(error).__name__, "error_description": str(error)})

    def sign_in(self):
        session = new_session()
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = session.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        cookie = secrets.token_urlsafe(16)
        pending[cookie] = {"state": state, "verifier": verifier, "nonce": nonce}
        self.send_response(303)
        self.send_header("location", url)
        self.send_header("set-cookie", f"rp_session={cookie}; Path=/; HttpOnly; SameSite=Lax")
        self.end_headers()

    def callback(self):
        cookies = http.cookies.SimpleCookie(self.headers.get("cookie", ""))
        expected = pending.pop(cookies["rp_session"].value if "rp_session" in cookies else "", None)
        if expected is None:
            return self.send_json(400, {"error": "no sign-in is under way in this browser"})
        session = new_session()
        session.state = expected["state"]
        token = session.fetch_token(
            metadata["token_endpoint"],
            authorization_response=f"http://{HOST}:{PORT}{self.path}",
            code_verifier=expected["verifier"],
        )
        keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
        claims = jwt.decode(
            token["id_token"],
            keys,
            claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": ISSUER}},
            claims_params={"nonce": expected["nonce"], "client_id": CLIENT_ID},
        )
        claims.validate(leeway=60)
        userinfo = session.get(metadata["userinfo_endpoint"]).json()
        self.send_json(200, {"idToken": dict(claims), "userinfo": userinfo})

    def send_json(self, status, body):
        data = (json.dumps(body, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer((HOST, PORT), RelyingParty)
    print(f"Sign in at http://{HOST}:{PORT}/login", flush=True)
    server.serve_forever()
