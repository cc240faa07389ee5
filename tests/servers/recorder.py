#!/usr/bin/env python3
"""A recording HTTP server: the stand-in for v0.4.1's configuration service
(CONFIG_API_URL) that tsv_parser publishes channels to.

Python 3 standard library only. Tests start it on a free loopback port and
stop it themselves:

    recorder.py --port 0 --port-file PATH --log PATH
                [--status 201] [--hang SECONDS] [--fail-if TEXT]

Every request is appended to --log as one JSON line once its body is read:
{"method", "path" (as sent, not decoded), "headers" ([name, value] pairs, in
order), "body" (text)}. It answers --status (default 201, with {"ok": true})
or, with --hang, reads the request and answers nothing for that long. The
mode can change while it runs: POST /__test/mode {"status": N, "hang": S}
(never logged). With --fail-if, a request whose body holds TEXT is answered
500 (and logged) whatever the mode: one campaign's publication failing. The server binds 127.0.0.1, writes its port to --port-file
(temp + rename) once listening, and exits cleanly on SIGTERM or SIGINT.
"""
import argparse
import json
import sys
import threading
import time

import stand_in

STATE = {"status": 201, "hang": 0.0, "fail_if": None}
LOCK = threading.Lock()
LOG = None


class Handler(stand_in.Handler):
    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self):
        body = self._body()
        if self.path == "/__test/mode":
            with LOCK:
                STATE.update(json.loads(body or b"{}"))
            self._answer(200, dict(STATE))
            return
        rec = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        with LOCK:
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            status, hang = STATE["status"], float(STATE["hang"])
            if STATE["fail_if"] and STATE["fail_if"] in rec["body"]:
                status, hang = 500, 0.0
        if hang > 0:
            time.sleep(hang)
            self.close_connection = True
            return
        self._answer(status, {"ok": status < 400})


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--status", type=int, default=201)
    ap.add_argument("--hang", type=float, default=0.0)
    ap.add_argument("--fail-if", default=None)
    a = ap.parse_args()
    LOG = a.log
    STATE["status"], STATE["hang"], STATE["fail_if"] = a.status, a.hang, a.fail_if
    srv = stand_in.Server(("127.0.0.1", a.port), Handler, stand_in.Log(None, None))
    return stand_in.serve(srv, a.port_file, lambda port: "")


if __name__ == "__main__":
    sys.exit(main())
