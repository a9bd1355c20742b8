"""
The test wallet of tests/e2e/walletkit.py for the browser tests: it makes
its PKI in a directory of its own, prints one JSON line ({"port", "env"}:
the settings portend needs to trust it), and answers on 127.0.0.1:
  POST /dc    {"request", "origin", "bad": [...]}: the data object a wallet
              hands the browser over the Digital Credentials API, after
              checking the signed request as a wallet does
  POST /link  {"link"}: follow an openid4vp:// link and post the answer
              (the QR and same-device flows); {"status": HTTP status}
It stops when its standard input closes.
"""

import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from walletkit import Pki, Wallet, dc_answer, dc_request  # noqa: E402

PKI = Pki(tempfile.mkdtemp(prefix="porten-wallet-"))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        try:
            q = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if self.path == "/dc":
                req = dc_request(PKI, q["request"], q["origin"])
                w = Wallet(PKI)
                self.answer(200, dc_answer(PKI, w.holder, req, q["origin"],
                                           bad=tuple(q.get("bad", ()))))
            elif self.path == "/link":
                w = Wallet(PKI)
                self.answer(200, {"status": w.answer(w.fetch_request(q["link"])).status_code})
            else:
                self.answer(404, {"error": "no such path"})
        except (AssertionError, KeyError, ValueError) as e:
            self.answer(400, {"error": repr(e)})


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(json.dumps({"port": httpd.server_address[1], "env": PKI.env()}), flush=True)
    sys.stdin.read()
    httpd.shutdown()


if __name__ == "__main__":
    main()
