#!/usr/bin/env python
# The tutorial's MD5 server, corrected for AIStore's hpush:// protocol: AIStore sends each object
# with PUT (the tutorial's server answered only POST), probes readiness with GET /health, and by
# default sends no body but the object's file path in the etl_fqn query parameter (the target's
# disks are mounted into the pod).

import argparse
import hashlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class S(BaseHTTPRequestHandler):
    def _reply(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self._reply(b"Running")
        else:
            self._reply(b"hpull is not supported by this server; use hpush", 400)

    def do_PUT(self):
        content_length = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(content_length)
        if fqn := query_value(self.path, "etl_fqn"):
            with open(fqn, "rb") as f:
                data = f.read()
        self._reply(hashlib.md5(data).hexdigest().encode())

    do_POST = do_PUT


def query_value(path, name):
    """A query parameter, path-unescaped (a "+" in a file name stays a "+")."""
    for part in urlsplit(path).query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return unquote(value)
    return ""


def run(addr="localhost", port=8000):
    httpd = ThreadingHTTPServer((addr, port), S)
    print(f"Starting httpd server on {addr}:{port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run a simple HTTP server")
    parser.add_argument("-l", "--listen", default="localhost",
                        help="Specify the IP address on which the server listens")
    parser.add_argument("-p", "--port", type=int, default=8000,
                        help="Specify the port on which the server listens")
    args = parser.parse_args()
    run(addr=args.listen, port=args.port)
