"""stand_in: what the test servers (influx2.py, grafana.py) share, stdlib only.

The HTTP plumbing (a threading server that logs its internal errors without
the request data, a handler that sends no Server header and hands every
method to its dispatch()), the fault queue's rule matching, the server log
and the main loop (port file written once listening, SIGTERM/SIGINT stop).
Imported from the servers' folder: they are run as scripts, so it is on
sys.path.
"""

import os
import signal
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Log:
    """The server log: one line per event, stamped by clock(); none without a path."""

    def __init__(self, path, clock):
        self.lock = threading.Lock()
        self.clock = clock
        self.f = open(path, "a", encoding="utf-8", buffering=1) if path else None

    def write(self, msg):
        if self.f is None:
            return
        with self.lock:
            self.f.write("%s %s\n" % (self.clock(), msg))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, handler, log):
        self.log = log
        super().__init__(addr, handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        # the exception's text is left out: it could quote request data
        tb = "".join(traceback.format_tb(exc.__traceback__)) if exc else ""
        msg = "internal error: %s\n%s" % (type(exc).__name__, tb)
        if self.log.f is not None:
            self.log.write(msg)
        else:
            sys.stderr.write(msg)


class Handler(BaseHTTPRequestHandler):
    """Every method goes to self.dispatch(); no access log, no Server header."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET


def take_fault(faults, method, path):
    """The first queued rule matching METHOD and PATH (a prefix), or None.

    A rule with "after": N lets N matching requests pass first; "times": N
    (default 1) is used N times, a negative one for ever. The caller holds
    the lock guarding FAULTS.
    """
    for i, r in enumerate(faults):
        if r.get("path") and not path.startswith(r["path"]):
            continue
        if r.get("method") and r["method"].upper() != method:
            continue
        if r.get("after", 0) > 0:
            r["after"] -= 1  # this matching request passes untouched
            continue
        times = r.get("times", 1)
        if times >= 0:
            if times <= 1:
                del faults[i]
            else:
                r["times"] = times - 1
        return dict(r)
    return None


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def serve(server, port_file, banner):
    """Run SERVER until SIGTERM or SIGINT: its port written to PORT_FILE (if
    any) once it listens, banner(port) logged."""
    port = server.server_address[1]

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if port_file:
        write_port_file(port_file, port)
    server.log.write(banner(port))
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
        server.log.write("stopped")
    return 0
