"""A tiny webhook receiver for the README quick-start: prints each event chatedge POSTs."""
import http.server
import json


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        event = json.loads(body)
        print(self.path, self.headers.get("webhook-id"), json.dumps(event), flush=True)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", 9000), Sink).serve_forever()
