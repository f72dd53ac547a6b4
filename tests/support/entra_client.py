#!/usr/bin/python3
"""Realistic Entra ID / ARM / Graph client traffic against fake-entra, for end-to-end tests.

    /usr/bin/python3 entra_client.py --proxy http://127.0.0.1:P --ca CA scenario NAME
    /usr/bin/python3 entra_client.py --direct 127.0.0.1:F --ca PKI/ca.pem scenario NAME
    /usr/bin/python3 entra_client.py list

--proxy: send everything through an HTTP proxy (authscope); --ca is then the proxy's CA and the
proxy must map the Microsoft hosts to fake-entra (--resolve HOST:443=127.0.0.1:F --upstream-ca
PKI/ca.pem). --direct: no proxy; connections to the Microsoft hosts go to fake-entra at ADDR:PORT
(TLS SNI, certificate check and Host header stay the real names); --ca is fake-entra's ca.pem.
URLs always name the real hosts (login.microsoftonline.com, management.azure.com,
graph.microsoft.com), so what the proxy records looks like real traffic.

Sign-ins use MSAL Python (Debian python3-msal) where MSAL can make the request: MSAL is pointed
at the real authority URL and reaches fake-entra through the proxy, so its requests are MSAL's
own (PKCE S256, state, nonce, client_info, x-client-* headers). The browser step is replaced by
a GET of the authorize URL whose 302 Location is parsed, never followed. Where MSAL cannot send
what a scenario needs (no PKCE, plain PKCE, implicit grant, a reused nonce), requests sends
MSAL-shaped parameters itself. Without msal installed every scenario falls back to that path.

Scenarios (expected authscope findings in brackets; "none" = must stay silent):
  clean-pkce-signin         MSAL auth code + PKCE S256 + state + nonce for ARM, then an ARM GET
                            with the token.                                        [none]
  no-pkce-signin            authorize with response_type=code and no code_challenge; the code is
                            redeemed without code_verifier; Graph /v1.0/me.   [pkce-missing]
  plain-pkce                code_challenge_method=plain; redeemed with the verifier.  [pkce-plain]
  ropc                      grant_type=password (MSAL acquire_token_by_username_password).
                                                                                   [ropc-grant]
  implicit                  response_type="id_token token": tokens come back in the URL fragment
                            of the 302 Location, then a Graph call with that token.
                                                  [implicit-grant; token-in-url may fire too]
  nonce-reuse               two complete PKCE sign-ins that send the same nonce.  [nonce-replay]
  cross-tenant-missing-aux  a client gets ARM tokens for its home tenant and for the linked
                            tenant, then PUTs a NIC whose subnet is in the linked subscription
                            with only the primary token: 403 LinkedAuthorizationFailed
                            ("…not authorized to access linked subscription…").
                                                                           [aux-header-missing]
  cross-tenant-with-aux     the same PUT with x-ms-authorization-auxiliary: Bearer <linked-tenant
                            token>: 200/201.                                               [none]
  linked-missing-role       a PUT referencing a same-tenant subscription where the caller lacks
                            a role on the linked scope: 403 LinkedAuthorizationFailed ("…does
                            not have permission to perform action(s) … on the linked scope(s)…"),
                            which is NOT an auxiliary-header problem.  [none of aux-header-*]
  overbroad-scope           a third-party app signs in (auth code + PKCE) asking for Graph
                            Directory.ReadWrite.All and RoleManagement.ReadWrite.Directory, then
                            calls /v1.0/me.                                       [scope-overbroad]
  client-credentials        app-only token for ARM (scope …/.default), then an ARM GET.     [none]
  device-code               device authorization grant for ARM, then an ARM GET.            [none]

Output: one JSON object on stdout: {"scenario", "ok", "steps": [{"method", "url", "status"}…],
"notes"}. Exit status 0 when the scenario produced the traffic it promises (including the
expected 403s), 1 when something else happened, 2 on a usage error.
"""

import argparse
import base64
import hashlib
import json
import secrets
import sys
import urllib.parse
import uuid

import requests

try:
    import msal  # Debian python3-msal
except ImportError:  # pragma: no cover - exercised where msal is missing
    msal = None

LOGIN = "https://login.microsoftonline.com"
ARM = "https://management.azure.com"
GRAPH = "https://graph.microsoft.com"
FAKE_HOSTS = {"login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
              "management.azure.com", "management.core.windows.net", "graph.microsoft.com"}

# Mirrors tests/support/entra_constants.h.
HOME_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
LINKED_TENANT = "a1b2c3d4-1111-4222-8333-944455556666"
HOME_SUB = "11111111-2222-4333-8444-555555555555"
LINKED_SUB = "99999999-8888-4777-8666-555544443333"
NO_ROLE_SUB = "77777777-6666-4555-8444-333322221111"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
TEST_APP = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
TEST_APP_SECRET = "fake-secret~not-a-real-one"
USERNAME = "alex@contoso.example"
PASSWORD = "not-a-real-password"
REDIRECT = "http://localhost:8400"
ARM_SCOPE = ARM + "//.default"  # the documented double slash: resource "https://management.azure.com/"


class ScenarioError(Exception):
    pass


class Client:
    """A requests session aimed at the fake world, recording every step it takes."""

    def __init__(self, args):
        self.args = args
        self.steps = []
        self.notes = []
        self.session = requests.Session()
        self.session.trust_env = False  # only the proxy we were given
        self.session.verify = args.ca if args.ca else True
        if args.proxy:
            self.session.proxies = {"http": args.proxy, "https": args.proxy}
        if args.direct:
            install_direct_connect(args.direct)
        self.session.hooks["response"].append(self._record)

    def _record(self, resp, *unused, **unused_kw):
        url = resp.request.url.split("?")[0].split("#")[0]
        self.steps.append({"method": resp.request.method, "url": url, "status": resp.status_code})

    def msal_headers(self):
        # What MSAL Python sends on its own requests (x-client-* telemetry, a request id).
        return {"x-client-sku": "MSAL.Python", "x-client-ver": "1.21.0", "x-client-os": sys.platform,
                "x-ms-lib-capability": "retry-after, h429", "client-request-id": str(uuid.uuid4()),
                "return-client-request-id": "true"}

    def authorize(self, tenant, params):
        url = "%s/%s/oauth2/v2.0/authorize?%s" % (LOGIN, tenant, urllib.parse.urlencode(params))
        resp = self.session.get(url, allow_redirects=False, timeout=self.args.timeout)
        if resp.status_code != 302:
            raise ScenarioError("authorize answered %d: %s" % (resp.status_code, resp.text[:300]))
        return redirect_params(resp.headers["Location"])

    def token(self, tenant, form, expect=200):
        resp = self.session.post("%s/%s/oauth2/v2.0/token" % (LOGIN, tenant), data=form,
                                 headers=self.msal_headers(), timeout=self.args.timeout)
        if resp.status_code != expect:
            raise ScenarioError("token endpoint answered %d: %s" % (resp.status_code, resp.text[:300]))
        return resp.json()

    def arm(self, method, path, token, body=None, aux=None, expect=(200, 201)):
        headers = {"Authorization": "Bearer " + token, "x-ms-client-request-id": str(uuid.uuid4()),
                   "Accept": "application/json"}
        if aux:
            # Documented format: "Bearer <t1>, EncryptedBearer <t2>, …" (at most three tokens).
            headers["x-ms-authorization-auxiliary"] = ", ".join("Bearer " + t for t in aux)
        resp = self.session.request(method, ARM + path, json=body, headers=headers, timeout=self.args.timeout)
        if resp.status_code not in expect:
            raise ScenarioError("ARM %s %s answered %d: %s" % (method, path, resp.status_code, resp.text[:400]))
        return resp

    def graph_me(self, token, expect=(200,)):
        resp = self.session.get(GRAPH + "/v1.0/me", headers={"Authorization": "Bearer " + token},
                                timeout=self.args.timeout)
        if resp.status_code not in expect:
            raise ScenarioError("Graph /v1.0/me answered %d: %s" % (resp.status_code, resp.text[:300]))
        return resp

    # --- MSAL-driven flows -------------------------------------------------------------------

    def msal_public(self, client_id, tenant="organizations"):
        return msal.PublicClientApplication(client_id, authority="%s/%s" % (LOGIN, tenant), http_client=self.session)

    def msal_confidential(self, tenant):
        return msal.ConfidentialClientApplication(TEST_APP, client_credential=TEST_APP_SECRET,
                                                  authority="%s/%s" % (LOGIN, tenant), http_client=self.session)

    def pkce_signin(self, client_id, scopes, tenant="organizations", nonce=None):
        """Auth code + PKCE S256 + state + nonce. MSAL when available (and no fixed nonce)."""
        if msal is not None and nonce is None:
            app = self.msal_public(client_id, tenant)
            flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT)
            resp = self.session.get(flow["auth_uri"], allow_redirects=False, timeout=self.args.timeout)
            if resp.status_code != 302:
                raise ScenarioError("authorize answered %d" % resp.status_code)
            result = app.acquire_token_by_auth_code_flow(flow, redirect_params(resp.headers["Location"]))
            if "access_token" not in result:
                raise ScenarioError("MSAL auth code flow failed: %s" % json.dumps(result)[:400])
            self.notes.append("sign-in by MSAL %s" % msal.__version__)
            return result
        verifier = b64url(secrets.token_bytes(32))
        state = str(uuid.uuid4())
        nonce = nonce or b64url(secrets.token_bytes(24))
        scope = " ".join(list(scopes) + ["openid", "profile", "offline_access"])
        got = self.authorize(tenant, {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT,
                                      "scope": scope, "state": state, "nonce": nonce,
                                      "code_challenge": s256(verifier), "code_challenge_method": "S256",
                                      "client_info": "1", "prompt": "select_account"})
        if got.get("state") != state:
            raise ScenarioError("state came back changed")
        result = self.token(tenant, {"client_id": client_id, "grant_type": "authorization_code", "code": got["code"],
                                     "redirect_uri": REDIRECT, "code_verifier": verifier, "scope": scope,
                                     "client_info": "1"})
        self.notes.append("sign-in by requests with MSAL-shaped parameters")
        return result

    def app_token(self, tenant, scope=ARM_SCOPE):
        if msal is not None:
            result = self.msal_confidential(tenant).acquire_token_for_client([scope])
            if "access_token" not in result:
                raise ScenarioError("client credentials failed: %s" % json.dumps(result)[:400])
            return result["access_token"]
        return self.token(tenant, {"client_id": TEST_APP, "client_secret": TEST_APP_SECRET,
                                   "grant_type": "client_credentials", "scope": scope})["access_token"]


# --- helpers -------------------------------------------------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def s256(verifier):
    # RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def redirect_params(location):
    parsed = urllib.parse.urlsplit(location)
    raw = parsed.fragment or parsed.query
    return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}


def install_direct_connect(address):
    """Sends connections for the Microsoft hosts to fake-entra; TLS still checks the real names."""
    import urllib3.util.connection as connection
    host, port = address.rsplit(":", 1)
    original = connection.create_connection

    def create_connection(addr, *args, **kwargs):
        if addr[0] in FAKE_HOSTS:
            addr = (host, int(port))
        return original(addr, *args, **kwargs)

    connection.create_connection = create_connection


def nic_body(subnet_subscription):
    return {"location": "westeurope",
            "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {
                "id": "/subscriptions/%s/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/"
                      "hub-vnet/subnets/default" % subnet_subscription}}}]}}


NIC_PATH = ("/subscriptions/%s/resourceGroups/app-rg/providers/Microsoft.Network/networkInterfaces/app-nic"
            "?api-version=2023-09-01")


# --- scenarios -----------------------------------------------------------------------------------

def clean_pkce_signin(c):
    result = c.pkce_signin(AZURE_CLI, [ARM_SCOPE])
    c.arm("GET", "/subscriptions/%s/resourceGroups/app-rg?api-version=2021-04-01" % HOME_SUB, result["access_token"])


def no_pkce_signin(c):
    state, nonce = str(uuid.uuid4()), b64url(secrets.token_bytes(24))
    scope = "https://graph.microsoft.com/User.Read openid profile offline_access"
    got = c.authorize("organizations", {"client_id": TEST_APP, "response_type": "code", "redirect_uri": REDIRECT,
                                        "scope": scope, "state": state, "nonce": nonce})
    result = c.token("organizations", {"client_id": TEST_APP, "grant_type": "authorization_code",
                                       "code": got["code"], "redirect_uri": REDIRECT, "scope": scope})
    c.graph_me(result["access_token"])


def plain_pkce(c):
    verifier = b64url(secrets.token_bytes(32))
    state, nonce = str(uuid.uuid4()), b64url(secrets.token_bytes(24))
    scope = "https://graph.microsoft.com/User.Read openid profile offline_access"
    got = c.authorize("organizations", {"client_id": TEST_APP, "response_type": "code", "redirect_uri": REDIRECT,
                                        "scope": scope, "state": state, "nonce": nonce,
                                        "code_challenge": verifier, "code_challenge_method": "plain"})
    result = c.token("organizations", {"client_id": TEST_APP, "grant_type": "authorization_code", "code": got["code"],
                                       "redirect_uri": REDIRECT, "code_verifier": verifier, "scope": scope})
    c.graph_me(result["access_token"])


def ropc(c):
    if msal is not None:
        result = c.msal_public(AZURE_CLI).acquire_token_by_username_password(USERNAME, PASSWORD, scopes=[ARM_SCOPE])
        if "access_token" not in result:
            raise ScenarioError("ROPC failed: %s" % json.dumps(result)[:400])
    else:
        result = c.token("organizations", {"client_id": AZURE_CLI, "grant_type": "password", "username": USERNAME,
                                           "password": PASSWORD, "scope": ARM_SCOPE + " openid profile offline_access"})
    c.arm("GET", "/subscriptions/%s?api-version=2020-01-01" % HOME_SUB, result["access_token"])


def implicit(c):
    state, nonce = str(uuid.uuid4()), b64url(secrets.token_bytes(24))
    got = c.authorize("organizations", {"client_id": TEST_APP, "response_type": "id_token token",
                                        "redirect_uri": "https://app.contoso.example/callback",
                                        "scope": "openid profile https://graph.microsoft.com/User.Read",
                                        "state": state, "nonce": nonce, "response_mode": "fragment"})
    if "access_token" not in got or "id_token" not in got:
        raise ScenarioError("implicit grant returned no tokens in the fragment")
    c.graph_me(got["access_token"])


def nonce_reuse(c):
    nonce = b64url(secrets.token_bytes(24))
    for _ in range(2):
        result = c.pkce_signin(TEST_APP, ["https://graph.microsoft.com/User.Read"], nonce=nonce)
        c.graph_me(result["access_token"])


def cross_tenant(c, send_aux):
    home = c.app_token(HOME_TENANT)
    linked = c.app_token(c.args.linked_tenant)
    path = NIC_PATH % HOME_SUB
    body = nic_body(c.args.linked_sub)
    if send_aux:
        c.arm("PUT", path, home, body=body, aux=[linked])
        return
    resp = c.arm("PUT", path, home, body=body, expect=(403,))
    error = resp.json().get("error", {})
    if error.get("code") != "LinkedAuthorizationFailed" or "linked subscription" not in error.get("message", ""):
        raise ScenarioError("expected a cross-tenant LinkedAuthorizationFailed, got %s" % resp.text[:300])


def linked_missing_role(c):
    home = c.app_token(HOME_TENANT)
    resp = c.arm("PUT", NIC_PATH % HOME_SUB, home, body=nic_body(c.args.no_role_sub), expect=(403,))
    error = resp.json().get("error", {})
    if error.get("code") != "LinkedAuthorizationFailed" or "linked scope" not in error.get("message", ""):
        raise ScenarioError("expected a linked-scope LinkedAuthorizationFailed, got %s" % resp.text[:300])


def overbroad_scope(c):
    scopes = ["https://graph.microsoft.com/Directory.ReadWrite.All",
              "https://graph.microsoft.com/RoleManagement.ReadWrite.Directory"]
    result = c.pkce_signin(TEST_APP, scopes)
    c.graph_me(result["access_token"])


def client_credentials(c):
    token = c.app_token(HOME_TENANT)
    c.arm("GET", "/subscriptions/%s/resourceGroups/app-rg?api-version=2021-04-01" % HOME_SUB, token)


def device_code(c):
    if msal is not None:
        app = c.msal_public(AZURE_CLI)
        flow = app.initiate_device_flow(scopes=[ARM_SCOPE])
        if "device_code" not in flow:
            raise ScenarioError("device code request failed: %s" % json.dumps(flow)[:300])
        flow["expires_at"] = flow.get("expires_at", 0) or 0
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
    else:
        resp = c.session.post("%s/organizations/oauth2/v2.0/devicecode" % LOGIN,
                              data={"client_id": AZURE_CLI, "scope": ARM_SCOPE + " offline_access"},
                              timeout=c.args.timeout)
        flow = resp.json()
        result = c.token("organizations", {"client_id": AZURE_CLI, "device_code": flow["device_code"],
                                           "grant_type": "urn:ietf:params:oauth:grant-type:device_code"})
    if "access_token" not in result:
        raise ScenarioError("device code flow failed: %s" % json.dumps(result)[:300])
    c.arm("GET", "/subscriptions/%s?api-version=2020-01-01" % HOME_SUB, result["access_token"])


SCENARIOS = {
    "clean-pkce-signin": clean_pkce_signin,
    "no-pkce-signin": no_pkce_signin,
    "plain-pkce": plain_pkce,
    "ropc": ropc,
    "implicit": implicit,
    "nonce-reuse": nonce_reuse,
    "cross-tenant-missing-aux": lambda c: cross_tenant(c, send_aux=False),
    "cross-tenant-with-aux": lambda c: cross_tenant(c, send_aux=True),
    "linked-missing-role": linked_missing_role,
    "overbroad-scope": overbroad_scope,
    "client-credentials": client_credentials,
    "device-code": device_code,
}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proxy", help="HTTP proxy URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--direct", help="fake-entra ADDR:PORT to connect to without a proxy")
    parser.add_argument("--ca", help="CA bundle to trust (the proxy's CA, or fake-entra's ca.pem with --direct)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
    parser.add_argument("--no-msal", action="store_true", help="use requests even when msal is installed")
    parser.add_argument("--linked-tenant", default=LINKED_TENANT)
    parser.add_argument("--linked-sub", default=LINKED_SUB)
    parser.add_argument("--no-role-sub", default=NO_ROLE_SUB)
    parser.add_argument("command", choices=["scenario", "list"])
    parser.add_argument("name", nargs="?")
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n".join(SCENARIOS))
        return 0
    if args.name not in SCENARIOS:
        parser.error("scenario must be one of: " + ", ".join(SCENARIOS))
    if bool(args.proxy) == bool(args.direct):
        parser.error("give exactly one of --proxy and --direct")
    global msal
    if args.no_msal:
        msal = None
    client = Client(args)
    out = {"scenario": args.name, "ok": True, "msal": msal.__version__ if msal else None}
    try:
        SCENARIOS[args.name](client)
    except (ScenarioError, requests.RequestException, ValueError, KeyError, RuntimeError) as e:
        out["ok"] = False
        out["error"] = "%s: %s" % (type(e).__name__, e)
    out["steps"] = client.steps
    out["notes"] = client.notes
    print(json.dumps(out, indent=2))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
