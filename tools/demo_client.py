#!/usr/bin/python3
"""A minimal relying party for `make run`: logs in through Porten with the
authorization code flow, PKCE, state and nonce, and shows the tokens.

Standard library only, so it runs on any Debian machine.  Not for production.
"""
import argparse
import base64
import hashlib
import html
import http.server
import json
import secrets
import sys
import urllib.parse
import urllib.request

PENDING = {}
STATE = {}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_payload(token):
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return None


def page(body):
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Porten demo"
            "</title><style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;"
            "padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow-x:auto}"
            "a.button{display:inline-block;background:#0062ba;color:#fff;padding:.6rem 1.2rem;"
            "border-radius:4px;text-decoration:none}</style></head><body><h1>" + html.escape(CFG["title"])
            + "</h1>" + body + "</body></html>").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send_page(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(page(body))

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/":
            tokens = STATE.get("tokens")
            body = '<p><a class=button href="/login">Log in</a></p>'
            if tokens:
                body += '<p><a href="/logout">Log out</a></p>' + show_tokens(tokens)
            self.send_page(body)
        elif url.path == "/login":
            verifier = b64url(secrets.token_bytes(32))
            state, nonce = b64url(secrets.token_bytes(16)), b64url(secrets.token_bytes(16))
            PENDING[state] = (verifier, nonce)
            params = {
                "client_id": CFG["client_id"], "response_type": "code", "scope": CFG["scope"],
                "redirect_uri": CFG["redirect_uri"], "state": state, "nonce": nonce,
                "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
                "code_challenge_method": "S256", "ui_locales": "en",
            }
            self.send_response(302)
            self.send_header("Location", META["authorization_endpoint"] + "?" +
                             urllib.parse.urlencode(params))
            self.end_headers()
        elif url.path == "/callback":
            state = q.get("state", [""])[0]
            if "error" in q:
                self.send_page("<p>Login ended: <code>%s</code></p><p><a href='/'>Back</a></p>"
                               % html.escape(q["error"][0]), 400)
                return
            if state not in PENDING or q.get("iss", [""])[0] != META["issuer"]:
                self.send_page("<p>Unknown state or wrong issuer.</p>", 400)
                return
            verifier, nonce = PENDING.pop(state)
            form = urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": q.get("code", [""])[0],
                "redirect_uri": CFG["redirect_uri"], "code_verifier": verifier}).encode()
            req = urllib.request.Request(META["token_endpoint"], data=form)
            basic = base64.b64encode(("%s:%s" % (urllib.parse.quote(CFG["client_id"], safe=""),
                                     urllib.parse.quote(CFG["client_secret"], safe=""))).encode())
            req.add_header("Authorization", "Basic " + basic.decode())
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    tokens = json.load(r)
            except urllib.error.HTTPError as e:
                self.send_page("<p>Token request failed: <pre>%s</pre></p>"
                               % html.escape(e.read().decode(errors="replace")), 502)
                return
            claims = jwt_payload(tokens.get("id_token", ""))
            if not claims or claims.get("nonce") != nonce:
                self.send_page("<p>ID token nonce mismatch.</p>", 502)
                return
            STATE["tokens"] = tokens
            self.send_response(302)
            self.send_header("Location", "/")
            self.end_headers()
        elif url.path == "/logout":
            tokens = STATE.pop("tokens", None) or {}
            params = {"post_logout_redirect_uri": CFG["base"] + "/", "state": "demo",
                      "client_id": CFG["client_id"]}
            if tokens.get("id_token"):
                params["id_token_hint"] = tokens["id_token"]
            self.send_response(302)
            self.send_header("Location", META["end_session_endpoint"] + "?" +
                             urllib.parse.urlencode(params))
            self.end_headers()
        elif url.path == "/frontchannel-logout":
            STATE.pop("tokens", None)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"logged out")
        else:
            self.send_page("<p>Not found</p>", 404)


def show_tokens(tokens):
    out = "<h2>ID token claims</h2><pre>%s</pre>" % html.escape(
        json.dumps(jwt_payload(tokens.get("id_token", "")), indent=2, ensure_ascii=False))
    at = jwt_payload(tokens.get("access_token", ""))
    if at:
        out += "<h2>Access token claims</h2><pre>%s</pre>" % html.escape(
            json.dumps(at, indent=2, ensure_ascii=False))
    out += "<h2>Token response</h2><pre>%s</pre>" % html.escape(json.dumps(tokens, indent=2))
    return out


def main():
    global CFG, META
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-file", required=True)
    ap.add_argument("--listen", default="127.0.0.1:8081")
    ap.add_argument("--scope", default="openid profile")
    ap.add_argument("--title", default="Porten demo client")
    a = ap.parse_args()
    with open(a.client_file) as f:
        client = json.load(f)
    host, port = a.listen.rsplit(":", 1)
    base = "http://%s:%s" % (host, port)
    CFG = {"client_id": client["client_id"], "client_secret": client["client_secret"],
           "redirect_uri": base + "/callback", "base": base, "scope": a.scope,
           "title": a.title}
    META = None
    import time
    for _ in range(100):
        try:
            with urllib.request.urlopen(a.issuer + "/.well-known/openid-configuration",
                                        timeout=2) as r:
                META = json.load(r)
                break
        except OSError:
            time.sleep(0.2)
    if META is None:
        sys.exit("demo client: issuer not reachable")
    http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
