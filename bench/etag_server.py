#!/usr/bin/env python3
"""A static file server for the memory measurement that answers conditional requests.

Python's SimpleHTTPRequestHandler sends Last-Modified but no ETag and never answers
If-None-Match; this one sends a strong ETag (a hash of the file) and answers 304 when the
request's If-None-Match names it. Every request is logged to LOG as "path status conditional".

usage: etag_server.py DIR PORTFILE LOG    (listens on 127.0.0.1, a free port written to PORTFILE)
"""

import hashlib
import http.server
import os
import sys
import threading

root, port_file, log_file = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the http.server API
        path = os.path.join(root, os.path.basename(self.path.split("?", 1)[0]))
        conditional = self.headers.get("If-None-Match")
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            self.answer(404, b"not found", None, conditional)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        if conditional and etag in [t.strip() for t in conditional.split(",")]:
            self.answer(304, b"", etag, conditional)
        else:
            self.answer(200, body, etag, conditional)

    def answer(self, status, body, etag, conditional):
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
        if status != 304:
            kind = "application/json" if self.path.endswith(".json") else "application/xml"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        with lock, open(log_file, "a", encoding="utf-8") as log:
            log.write(f"{self.path} {status} {'conditional' if conditional else 'plain'}\n")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
