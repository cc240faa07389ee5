#!/usr/bin/env python3
"""A stand-in for the InfluxDB 2 HTTP API subset that tsv_parser uses.

Python 3 standard library only. Tests start it on a free loopback port and stop
it themselves:

    influx2.py --port 0 --port-file PATH --token ADMIN_TOKEN --org NAME
               [--org-id 16HEX] [--log PATH] [--hash-tokens]
               [--max-body BYTES] [--auth-page-size N]

It binds 127.0.0.1 (port 0: a free port chosen by the OS), writes the port to
--port-file (temp + rename) once listening, and exits cleanly on SIGTERM or
SIGINT. It never prints or logs token values.

The API follows InfluxDB 2.7 (OSS) as read from its sources (tenant/,
authorization/, http/write_handler.go, http/points/, models/points.go,
kit/platform/errors): status codes, error codes and messages, JSON shapes,
paging links, line-protocol parsing rules and messages, partial writes,
Flux CSV. Where this server differs on purpose, the code says so
("test server:").

Endpoints: GET /health, /ping, /ready; GET /api/v2/orgs; GET, POST
/api/v2/buckets; GET, DELETE /api/v2/buckets/{id}; GET, POST
/api/v2/authorizations; GET, PATCH, DELETE /api/v2/authorizations/{id};
GET, POST /query (the 1.x compatibility API: SHOW MEASUREMENTS of the
bucket a database maps to, what Grafana's InfluxQL health check sends);
GET, POST /api/v2/dbrps (physical mappings, and the virtual one of every
bucket, as InfluxDB 2.7's dbrp/ package answers: {"content": [...]}; 201 with
the mapping; 400 without org/orgID or with a bad id or name; 401 without
write on the bucket; 404 for an unknown bucket; "conflict" (422, as every
EConflict of InfluxDB 2) for a second mapping of the same org, db and rp);
POST /api/v2/write; POST /api/v2/query (only the Flux shapes tsv_parser sends:
from |> range |> filter* |> group(columns: [...])? |> count() |> yield()?;
group() without columns sums every series into one table, group(columns:
["file_name"]) makes one table per file name, as Flux does; the distinct
tag tuples of `tsv_parser channels`: from |> range |> filter* |> first()
|> keep(columns: C) |> group(columns: C) |> limit(n: 1) |> group()
|> sort(columns: C) |> limit(n: N, offset: K), one table of the tuples of
the points stored, sorted, a missing tag empty; buckets(), Grafana's Flux
health check; and the downsampling Flux of issue 14, a query ending in
|> to(bucket:, org:) |> group() |> count(): checked against the shapes
src/sink/downsample_flux.c builds (see parse_downsample), each source bucket
readable and the target writable by the token, recorded (GET /__test/flux)
and answered with no row: this server computes no means, so the empty
answer "\r\n").

Control API (no auth; never touched by fault rules):
    POST   /__test/faults     JSON rule or list of rules, appended to the queue
    GET    /__test/faults     the rules still queued
    DELETE /__test/faults     clear the queue (nothing else)
    POST   /__test/reset      clear faults, request log, points, user buckets,
                              DBRP mappings and authorizations (the org, the system buckets and
                              the admin token stay)
    GET    /__test/requests   request log (never a token)
    DELETE /__test/requests   clear the request log
    GET    /__test/points?bucket=NAME[&measurement=M]
                              {"count": N, "lines": [canonical line protocol, sorted]}
    GET    /__test/flux       the downsampling (to()) queries accepted, in order:
                              [{"query": text, "org", "from", "to", "every"
                              (1h|1d, or null: per window), "zone",
                              "fields", "windows": [[start, stop] RFC3339]}]
    GET    /__test/buckets    names of the user buckets, sorted
    POST   /__test/buckets    {"names": [...], "retentionSeconds": N?} creates
                              buckets in bulk (existing names are skipped)

Fault rule fields (all optional): "path" (prefix), "method", "after" (let
that many matching requests pass first), "times" (default 1; -1 = until reset), "status", "headers", "body" (JSON value or text),
"delay" (seconds to sleep first), "action": "drop" (read the request, close
without answer), "drop_mid" (read half the body, close), "hang" (read the
request and never answer: the connection stays open, silent, until the
client gives up, a reset or the end of the server; with "delay", closed
without answer after that many seconds; the request is in the log at once,
with status null), "big_body": N (answer
"status", default 200, with a JSON body of N bytes, {"message": "xxx..."},
written 64 KiB at a time; with "chunked": true in chunked transfer encoding,
without Content-Length; a client that stops reading ends it). A 400 rule with "line": N
answers InfluxDB's parse-error shape quoting line N of the request body
("reason" sets the reason, default "invalid field format"). The first queued
rule that matches a request is used and its "times" decremented.
"""

import argparse
import base64
import calendar
import datetime
import json
import math
import re
import secrets
import select
import socket
import sys
import threading
import time
import zlib
from urllib.parse import parse_qsl, urlencode, urlsplit

import stand_in

VERSION = "v2.7.0"
COMMIT = "0000000000"
JSON_CT = "application/json; charset=utf-8"
CSV_CT = "text/csv; charset=utf-8"

# influxdb.DefaultPageSize / influxdb.MaxPageSize (paging.go). 100 is the
# documented bound of "limit" on list endpoints; above it InfluxDB answers
# 400 {"code":"invalid","message":"limit must be between 1 and 100"}.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

MIN_NANO = -(2**63) + 2          # models.MinNanoTime
MAX_NANO = 2**63 - 2             # models.MaxNanoTime
MAX_KEY_LENGTH = 65535           # models.MaxKeyLength
PRECISIONS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 1000000000}

# the only Flux query besides the from() shapes: Grafana's health check
BUCKETS_QUERY = re.compile(r"\s*buckets\(\s*\)\s*")

# ---- the downsampling Flux (issue 14, src/sink/downsample_flux.c)
_FSTR = r'"((?:[^"\\]|\\.)*)"'
_FTIME = r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)'
_FSOURCE = (r'from\(\s*bucket:\s*' + _FSTR + r'\s*\)'
            r'\s*\|>\s*range\(\s*start:\s*' + _FTIME + r'\s*,\s*stop:\s*' + _FTIME + r'\s*\)'
            r'\s*\|>\s*filter\(\s*fn:\s*\(r\)\s*=>\s*r\._measurement\s*==\s*"electrical"\s*\)'
            r'(?:\s*\|>\s*filter\(\s*fn:\s*\(r\)\s*=>\s*((?:r\._field\s*==\s*"(?:[^"\\]|\\.)*"(?:\s*or\s*)?)+)\))?'
            r'\s*\|>\s*group\(\s*columns:\s*\[\s*"_time"\s*,\s*"_value"\s*,\s*"file_name"\s*\]\s*,\s*mode:\s*"except"\s*\)')
_FTAIL = (r'\s*\|>\s*drop\(\s*columns:\s*\[\s*"_start"\s*,\s*"_stop"\s*\]\s*\)'
          r'\s*\|>\s*to\(\s*bucket:\s*' + _FSTR + r'\s*,\s*(org|orgID):\s*' + _FSTR + r'\s*\)'
          r'\s*\|>\s*group\(\s*\)\s*\|>\s*count\(\s*\)\s*')
DS_GROUPED = re.compile(r'\s*import\s+"timezone"\s*' + _FSOURCE +
                        r'\s*\|>\s*aggregateWindow\(\s*every:\s*(1h|1d)\s*,\s*fn:\s*mean\s*,'
                        r'\s*location:\s*timezone\.location\(\s*name:\s*' + _FSTR + r'\s*\)\s*,'
                        r'\s*timeSrc:\s*"_start"\s*,\s*createEmpty:\s*false\s*\)' + _FTAIL, re.S)
DS_WINDOW = re.compile(r'\s*' + _FSOURCE + r'\s*\|>\s*mean\(\s*\)'
                       r'\s*\|>\s*duplicate\(\s*column:\s*"_start"\s*,\s*as:\s*"_time"\s*\)\s*', re.S)
DS_TAIL = re.compile(_FTAIL + r'\Z', re.S)
TO_CALL = re.compile(r'\|>\s*to\(')
# `tsv_parser downsample`'s first and last point of a bucket (pv_sink_influx_span)
EDGE_QUERY = re.compile(
    r'from\(bucket: "((?:[^"\\]|\\.)*)"\)\n'
    r'  \|> range\(start: 1970-01-01T00:00:00Z, stop: 2262-04-11T00:00:00Z\)\n'
    r'  \|> filter\(fn: \(r\) => r\._measurement == "((?:[^"\\]|\\.)*)"\)\n'
    r'  \|> (first|last)\(\)\n'
    r'  \|> keep\(columns: \["_time"\]\)\n'
    r'  \|> group\(\)\n'
    r'  \|> sort\(columns: \["_time"\], desc: (true|false)\)\n'
    r'  \|> limit\(n: 1\)\n')


def flux_unquote(s):
    """The value of a Flux string literal body (\\ \" \n \r \t \$ escapes)."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_downsample(text):
    """The downsampling query of one level, as src/sink/downsample_flux.c
    builds it (a source: from |> range |> filter |> group(columns: ["_time",
    "_value", "file_name"], mode: "except")): either import "timezone", one
    source, aggregateWindow(every:
    1h|1d, fn: mean, location: timezone.location(name:), timeSrc: "_start",
    createEmpty: false); or one source |> mean() |> duplicate(column:
    "_start", as: "_time") per window (in union(tables: [...]) when more than
    one); then |> drop(columns: ["_start", "_stop"]) |> to(bucket:, org:|orgID:)
    |> group() |> count().
    Every source reads the same bucket and fields; windows contiguous.
    ValueError when the text has another shape."""
    tail = DS_TAIL.search(text)
    if tail is None:
        raise ValueError("the query does not end with |> drop(columns: [\"_start\", \"_stop\"]) |> to(bucket:, org:) "
                         "|> group() |> count()")
    rec = {"query": text, "to": flux_unquote(tail.group(1)), "org_key": tail.group(2),
           "org": flux_unquote(tail.group(3))}
    head = text[:tail.start()]
    m = DS_GROUPED.fullmatch(text)
    if m:
        rec.update(every=m.group(5), zone=flux_unquote(m.group(6)))
        sources = [m]
    else:
        rec.update(every=None, zone=None)
        body = head
        u = re.fullmatch(r'\s*union\(\s*tables:\s*\[(.*)\]\s*\)\s*', head, re.S)
        if u:
            parts = re.split(r',(?=\s*from\()', u.group(1))
            if len(parts) < 2:
                raise ValueError("union() needs at least two streams")
        else:
            parts = [body]
        sources = []
        for part in parts:
            w = DS_WINDOW.fullmatch(part)
            if w is None:
                raise ValueError("a window is not from |> range |> filter |> mean() |> duplicate(_start as _time): %r"
                                 % part[:200])
            sources.append(w)
    buckets = {flux_unquote(x.group(1)) for x in sources}
    fields = {x.group(4) for x in sources}
    if len(buckets) != 1 or len(fields) != 1:
        raise ValueError("the windows read different buckets or fields")
    rec["from"] = buckets.pop()
    f = fields.pop()
    rec["fields"] = [flux_unquote(v) for v in re.findall(_FSTR, f)] if f else None
    rec["windows"] = [[x.group(2), x.group(3)] for x in sources]
    for a, b in zip(rec["windows"], rec["windows"][1:]):
        if a[1] != b[0]:
            raise ValueError("the windows are not contiguous")
    for a, b in rec["windows"]:
        if not a < b:
            raise ValueError("an empty window")
    if rec["to"] != rec["from"] + "_" + (rec["every"] or rec["to"].rsplit("_", 1)[-1]) or \
            rec["to"].rsplit("_", 1)[-1] not in ("1h", "1d", "1w"):
        raise ValueError("the target bucket is not <source>_1h|_1d|_1w")
    return rec

# kit/platform/errors codes and their HTTP statuses
ERROR_STATUS = {
    "internal error": 500, "not implemented": 501, "not found": 404,
    "conflict": 422, "invalid": 400, "unprocessable entity": 422,
    "empty value": 400, "unavailable": 503, "forbidden": 403,
    "too many requests": 429, "unauthorized": 401,
    "method not allowed": 405, "request too large": 413,
}
STATUS_CODE = {400: "invalid", 401: "unauthorized", 403: "forbidden",
               404: "not found", 405: "method not allowed",
               413: "request too large", 422: "unprocessable entity",
               429: "too many requests", 500: "internal error",
               501: "not implemented", 503: "unavailable"}

RESOURCE_TYPES = ["authorizations", "buckets", "dashboards", "orgs", "sources",
                  "tasks", "telegrafs", "users", "variables", "scrapers",
                  "secrets", "labels", "views", "documents",
                  "notificationRules", "notificationEndpoints", "checks",
                  "dbrp", "notebooks", "annotations", "remotes",
                  "replications"]


class ApiError(Exception):
    """An InfluxDB error answer: {"code": ..., "message": ...}."""

    def __init__(self, code, message, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    @property
    def status(self):
        return ERROR_STATUS.get(self.code, 500)


# ---------------------------------------------------------------- helpers

def go_json(obj, indent=False):
    """JSON as Go's encoding/json writes it (HTML characters escaped)."""
    if indent:
        s = json.dumps(obj, ensure_ascii=False, indent="\t")
    else:
        s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s


def utf8(s):
    return s.encode("utf-8", "replace")


def rfc3339(ns, nano=True):
    """Go's time.RFC3339Nano (or RFC3339) of a Unix time in nanoseconds, UTC."""
    sec, frac = divmod(ns, 1000000000)
    try:
        s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    except (OverflowError, ValueError, OSError):
        return str(ns)
    if nano and frac:
        s += "." + ("%09d" % frac).rstrip("0")
    return s + "Z"


def go_duration(seconds):
    """Go's time.Duration.String() for whole seconds."""
    if seconds == 0:
        return "0s"
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return "%dh%dm%ds" % (h, m, s)
    if m:
        return "%dm%ds" % (m, s)
    return "%ds" % s


def parse_id(s):
    """platform.IDFromString: 16 hex digits, not zero."""
    if len(s) != 16:
        raise ApiError("invalid", "id must have a length of 16 bytes")
    if not re.fullmatch(r"[0-9a-fA-F]{16}", s) or int(s, 16) == 0:
        raise ApiError("invalid", "invalid ID")
    return s.lower()


def is_id(s):
    try:
        parse_id(s)
        return True
    except ApiError:
        return False


def go_atoi(s):
    if not re.fullmatch(r"[+-]?\d+", s):
        raise ValueError(s)
    return int(s)


def go_parse_bool(s):
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(s)


def new_token():
    # authorization.TokenGenerator: 64 random bytes, base64 URL encoding with
    # padding (88 characters)
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode("ascii")


def shard_group_duration(rp):
    """meta.shardGroupDuration, in seconds."""
    if rp >= 180 * 86400 or rp == 0:
        return 7 * 86400
    if rp >= 2 * 86400:
        return 86400
    return 3600


def normalised_shard_duration(sgd, rp):
    if sgd == 0:
        return shard_group_duration(rp)
    if sgd < 3600:
        return shard_group_duration(3600)
    return sgd


# ---------------------------------------------------------------- line protocol

class LPError(Exception):
    pass


def _skip_ws(buf, i):
    n = len(buf)
    while i < n and buf[i] in " \t\x00":
        i += 1
    return i


def _scan_line(buf, i):
    """models.scanLine: one line, newlines inside quoted field values kept."""
    start = i
    quoted = fields = False
    equals = commas = 0
    n = len(buf)
    while i < n:
        c = buf[i]
        if c == "\\" and i + 2 < n:
            i += 2
            continue
        if c == " ":
            fields = True
        if fields:
            if not quoted and c == "=":
                i += 1
                equals += 1
                continue
            if not quoted and c == ",":
                i += 1
                commas += 1
                continue
            if c == '"' and equals > commas:
                i += 1
                quoted = not quoted
                continue
        if c == "\n" and not quoted:
            break
        i += 1
    return i, buf[start:i]


def split_lines(data):
    """Yields (line number, block) as models.ParsePoints cuts the body."""
    if '"' not in data and "\\\n" not in data:
        for n, block in enumerate(data.split("\n"), 1):
            yield n, block
        return
    pos, line = 0, 1
    while pos < len(data):
        pos, block = _scan_line(data, pos)
        yield line, block
        line += block.count("\n") + 1
        pos += 1


def _scan_key(buf):
    """models.scanKey (with scanMeasurement and scanTags)."""
    n = len(buf)
    i = start = _skip_ws(buf, 0)
    if i >= n or buf[i] == ",":
        raise LPError("missing measurement")
    while True:
        i += 1
        if i >= n:
            raise LPError("missing fields")
        if buf[i - 1] == "\\":
            continue
        if buf[i] == ",":
            state = "tag"
            meas_end = i
            i += 1
            break
        if buf[i] == " ":
            state = "fields"
            meas_end = i
            break
    tags = []
    while state == "tag":
        kstart = i
        if i >= n or buf[i] in " ,=":
            raise LPError("missing tag key")
        while True:
            i += 1
            if i >= n or (buf[i] in " ," and buf[i - 1] != "\\"):
                raise LPError("missing tag value")
            if buf[i] == "=" and buf[i - 1] != "\\":
                i += 1
                break
        kend = i - 1
        vstart = i
        if i >= n or buf[i] in ", ":
            raise LPError("missing tag value")
        while True:
            i += 1
            if i >= n:
                raise LPError("missing fields")
            if buf[i] == "=" and buf[i - 1] != "\\":
                raise LPError("invalid tag format")
            if buf[i] == "," and buf[i - 1] != "\\":
                state = "tag"
                break
            if buf[i] == " " and buf[i - 1] != "\\":
                state = "fields"
                break
        tags.append((buf[kstart:kend], buf[vstart:i]))
        if state == "tag":
            i += 1
    _check_tags([k for k, _ in tags])
    return i, buf[start:i], buf[start:meas_end], tags


def _check_tags(keys):
    for k in keys:
        if k in ("_measurement", "_field"):
            raise LPError("cannot use reserved tag key %s" % json.dumps(k))
    keys = sorted(keys)
    for a, b in zip(keys, keys[1:]):
        if a == b:
            raise LPError("duplicate tags")


def _is_numeric(c):
    return "0" <= c <= "9" or c == "."


def _scan_number(buf, i):
    """models.scanNumber."""
    start = i
    n = len(buf)
    is_int = is_uint = decimal = scientific = False
    if i < n and buf[i] == "-":
        i += 1
        if i == n:
            raise LPError("invalid number")
    while i < n:
        c = buf[i]
        if c in ", ":
            break
        if c == "i" and i > start and not (is_int or is_uint):
            is_int = True
            i += 1
            continue
        if c == "u" and i > start and not (is_int or is_uint):
            is_uint = True
            i += 1
            continue
        if c == ".":
            if decimal:
                raise LPError("invalid number")
            decimal = True
        if i > start and c in "eE":
            scientific = True
            i += 1
            continue
        if c in "+-" and buf[i - 1] in "eE":
            i += 1
            continue
        if i + 2 < n and c in "Nn":
            raise LPError("invalid number")
        if not _is_numeric(c):
            raise LPError("invalid number")
        i += 1
    if (is_int or is_uint) and (decimal or scientific):
        raise LPError("invalid number")
    digits = i - start
    if is_int:
        digits -= 1
    if decimal:
        digits -= 1
    if buf[start] == "-":
        digits -= 1
    if digits == 0:
        raise LPError("invalid number")
    text = buf[start:i]
    if is_int:
        if buf[i - 1] != "i":
            raise LPError("invalid number")
        if len(text) - 1 >= 19:
            v = int(text[:-1])
            if not -(2**63) <= v < 2**63:
                raise LPError('unable to parse integer %s: strconv.ParseInt: parsing "%s": '
                              'value out of range' % (text[:-1], text[:-1]))
    elif is_uint:
        if buf[i - 1] != "u" or buf[start] == "-":
            raise LPError("invalid number")
        if len(text) - 1 >= 20 and int(text[:-1]) >= 2**64:
            raise LPError('unable to parse unsigned %s: strconv.ParseUint: parsing "%s": '
                          'value out of range' % (text[:-1], text[:-1]))
    elif scientific or len(text) >= 25:
        try:
            v = float(text)
        except ValueError:
            raise LPError("invalid float") from None
        if math.isinf(v):
            raise LPError("invalid float")
    return i


def _scan_boolean(buf, i):
    """models.scanBoolean."""
    start = i
    n = len(buf)
    if i < n and buf[i] not in "tfTF":
        raise LPError("invalid boolean")
    i += 1
    while i < n and buf[i] not in ", ":
        i += 1
    word = buf[start:i]
    if len(word) == 1:
        return i
    if word not in ("true", "false", "TRUE", "True", "FALSE", "False"):
        raise LPError("invalid boolean")
    return i


def _scan_fields(buf, i):
    """models.scanFields: returns (end, fields text)."""
    n = len(buf)
    i = start = _skip_ws(buf, i)
    quoted = False
    equals = commas = 0
    while i < n:
        c = buf[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if c == '"' and equals > commas:
            quoted = not quoted
            i += 1
            continue
        if c == "=" and not quoted:
            equals += 1
            if buf[i - 1] == " " and buf[i - 2] != "\\":
                raise LPError("missing field key")
            if buf[i - 1] == "," and buf[i - 2] != "\\":
                raise LPError("missing field key")
            if i + 1 >= n:
                raise LPError("missing field value")
            nxt = buf[i + 1]
            if nxt in ", ":
                raise LPError("missing field value")
            if _is_numeric(nxt) or nxt in "-Nn":
                i = _scan_number(buf, i + 1)
                continue
            if nxt != '"':
                i = _scan_boolean(buf, i + 1)
                continue
        if c == "," and not quoted:
            commas += 1
        if c == " " and not quoted:
            break
        i += 1
    if quoted:
        raise LPError("unbalanced quotes")
    if equals == 0 or commas != equals - 1:
        raise LPError("invalid field format")
    return i, buf[start:i]


def _walk_fields(buf):
    """models.walkFields: (raw key, raw value) pairs."""
    out = []
    while buf:
        i = 0
        while i < len(buf) and not (buf[i] == "=" and (i == 0 or buf[i - 1] != "\\")):
            i += 1
        key = buf[:i]
        if i > len(buf) - 2:
            raise LPError("invalid value: field-key=%s" % key)
        buf = buf[i + 1:]
        j, quoted = 0, False
        while j < len(buf):
            c = buf[j]
            if c == "\\" and j + 1 < len(buf) and buf[j + 1] in '"\\':
                j += 2
                continue
            if c == '"':
                quoted = not quoted
                j += 1
                continue
            if c == "," and not quoted:
                break
            j += 1
        out.append((key, buf[:j]))
        buf = buf[j + 1:]
    return out


def _scan_time(buf, i):
    n = len(buf)
    i = start = _skip_ws(buf, i)
    while i < n:
        c = buf[i]
        if c in "\n ":
            break
        if i == start and c == "-":
            i += 1
            continue
        if not "0" <= c <= "9":
            raise LPError("bad timestamp")
        i += 1
    return i, buf[start:i]


def _time_ns(text, precision):
    if not re.fullmatch(r"-?\d+", text):
        raise LPError('strconv.ParseInt: parsing %s: invalid syntax' % json.dumps(text))
    v = int(text)
    if not -(2**63) <= v < 2**63:
        raise LPError('strconv.ParseInt: parsing %s: value out of range' % json.dumps(text))
    t = v * PRECISIONS[precision]
    if not MIN_NANO <= t <= MAX_NANO:
        raise LPError("time outside range %d - %d" % (MIN_NANO, MAX_NANO))
    return t


def unescape_measurement(s):
    if "\\" not in s:
        return s
    return s.replace("\\,", ",").replace("\\ ", " ")


def unescape_tag(s):
    if "\\" not in s:
        return s
    return s.replace("\\,", ",").replace("\\ ", " ").replace("\\=", "=")


def _unescape_lr(s, chars):
    if "\\" not in s:
        return s
    out, i, n = [], 0, len(s)
    while i < n:
        if s[i] == "\\" and i + 1 < n and s[i + 1] in chars:
            out.append(s[i + 1])
            i += 2
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def unescape_field_key(s):
    return _unescape_lr(s, '," =')


def unescape_string(s):
    return _unescape_lr(s, '\\"')


def field_value(raw):
    c = raw[0]
    if c == '"':
        return "string", unescape_string(raw[1:-1])
    if c in "tT":
        return "boolean", True
    if c in "fF":
        return "boolean", False
    if raw[-1] == "i":
        return "integer", int(raw[:-1])
    if raw[-1] == "u":
        return "unsigned", int(raw[:-1])
    return "float", float(raw)


class Point:
    __slots__ = ("m", "tags", "fields", "ts", "key")

    def __init__(self, m, tags, fields, ts, key):
        self.m, self.tags, self.fields, self.ts, self.key = m, tags, fields, ts, key


_TOK = r'(?:[^ ,=\\"\n\t]|\\[ ,=])+'
_FAST = re.compile(r'[ \t]*(%s)((?:,%s=%s)*) +(%s=[^ ,"\n]+(?:,%s=[^ ,"\n]+)*)(?: +(-?\d+))? *'
                   % (_TOK, _TOK, _TOK, _TOK, _TOK))
_FAST_TAG = re.compile(r",(%s)=(%s)" % (_TOK, _TOK))
_FAST_FIELD = re.compile(r"(?:^|,)(%s)=([^ ,]+)" % _TOK)
_FAST_FLOAT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FAST_INT = re.compile(r"-?\d+i")
_FAST_UINT = re.compile(r"\d+u")
_BOOLS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True,
          "f": False, "F": False, "false": False, "False": False, "FALSE": False}


def _fast_point(buf, default_ns, precision):
    """The common case (no strings, no odd escapes) by regular expressions;
    None when the line needs the exact scanner (which then decides)."""
    if len(buf) > 60000:
        return None
    m = _FAST.fullmatch(buf)
    if m is None:
        return None
    meas, tagsec, fieldsec, ts = m.groups()
    raw_tags = _FAST_TAG.findall(tagsec) if tagsec else []
    if raw_tags:
        keys = [k for k, _ in raw_tags]
        if "_measurement" in keys or "_field" in keys or len(set(keys)) != len(keys):
            return None
    fields = []
    for k, v in _FAST_FIELD.findall(fieldsec):
        if v in _BOOLS:
            fields.append((unescape_field_key(k), "boolean", _BOOLS[v]))
        elif _FAST_INT.fullmatch(v):
            iv = int(v[:-1])
            if not -(2**63) <= iv < 2**63:
                return None
            fields.append((unescape_field_key(k), "integer", iv))
        elif _FAST_UINT.fullmatch(v):
            uv = int(v[:-1])
            if uv >= 2**64:
                return None
            fields.append((unescape_field_key(k), "unsigned", uv))
        elif _FAST_FLOAT.fullmatch(v):
            fv = float(v)
            if math.isinf(fv):
                return None
            fields.append((unescape_field_key(k), "float", fv))
        else:
            return None
    if ts is None:
        t = default_ns
    else:
        try:
            t = _time_ns(ts, precision)
        except LPError:
            return None
    tags = tuple(sorted((unescape_tag(k), unescape_tag(v)) for k, v in raw_tags))
    key = buf[m.start(1):m.end(2)]
    return Point(unescape_measurement(meas), tags, fields, t, key)


def parse_point(buf, default_ns, precision):
    """models.parsePoint."""
    p = _fast_point(buf, default_ns, precision)
    if p is not None:
        return p
    pos, key, meas, raw_tags = _scan_key(buf)
    if not key:
        raise LPError("missing measurement")
    if len(key) > MAX_KEY_LENGTH:
        raise LPError("max key length exceeded: %d > %d" % (len(key), MAX_KEY_LENGTH))
    pos, ftext = _scan_fields(buf, pos)
    if not ftext:
        raise LPError("missing fields")
    raw_fields = _walk_fields(ftext)
    for k, _ in raw_fields:
        size = len(key) + len("#!~#") + len(k)
        if size > MAX_KEY_LENGTH:
            raise LPError("max key length exceeded: %d > %d" % (size, MAX_KEY_LENGTH))
    pos, ts = _scan_time(buf, pos)
    if ts == "":
        t = default_ns
    else:
        t = _time_ns(ts, precision)
        while pos < len(buf):
            if buf[pos] != " ":
                raise LPError("point is invalid")
            pos += 1
    fields = []
    for k, v in raw_fields:
        typ, val = field_value(v)
        fields.append((unescape_field_key(k), typ, val))
    tags = tuple(sorted((unescape_tag(k), unescape_tag(v)) for k, v in raw_tags))
    return Point(unescape_measurement(meas), tags, fields, t, key)


def parse_lines(data, precision, now):
    """models.ParsePointsWithPrecision. Returns (points, errors, lines) where
    errors are (line number, message) and lines counts the non-blank,
    non-comment lines."""
    mult = PRECISIONS[precision]
    default_ns = now // mult * mult
    points, errors, count = [], [], 0
    for lineno, block in split_lines(data):
        if not block:
            continue
        start = _skip_ws(block, 0)
        if start >= len(block) or block[start] == "#":
            continue
        count += 1
        text = block[start:]
        try:
            points.append(parse_point(text, default_ns, precision))
        except LPError as e:
            errors.append((lineno, "unable to parse '%s': %s" % (text, e)))
    return points, errors, count


def count_lines(data):
    n = 0
    for _, block in split_lines(data):
        start = _skip_ws(block, 0)
        if start < len(block) and block[start] != "#":
            n += 1
    return n


def escape_measurement(s):
    return s.replace(",", "\\,").replace(" ", "\\ ")


def escape_tag(s):
    return s.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def format_value(typ, v):
    if typ == "float":
        return repr(v)
    if typ == "integer":
        return "%di" % v
    if typ == "unsigned":
        return "%du" % v
    if typ == "boolean":
        return "true" if v else "false"
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


def series_key(m, tags):
    return escape_measurement(m) + "".join(
        ",%s=%s" % (escape_tag(k), escape_tag(v)) for k, v in tags)


# ---------------------------------------------------------------- gzip

class GzipError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def gunzip_limited(data, limit):
    """Multistream gunzip as Go's gzip.Reader, at most limit bytes out."""
    out = bytearray()
    rest = data
    first = True
    while True:
        if len(rest) < 10 or rest[:3] != b"\x1f\x8b\x08":
            if first:
                raise GzipError("header", "gzip: invalid header")
            raise GzipError("invalid", "unable to read data: gzip: invalid header")
        first = False
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(rest, limit + 1 - len(out))
        except zlib.error as e:
            if "incorrect data check" in str(e) or "incorrect length check" in str(e):
                raise GzipError("invalid", "unable to read data: gzip: invalid checksum") from None
            raise GzipError("internal error", "unable to read data: flate: corrupt input") from None
        if len(out) > limit:
            raise GzipError("request too large", "unable to read data: points batch is too large")
        if not d.eof:
            raise GzipError("internal error", "unable to read data: unexpected EOF")
        rest = d.unused_data
        if not rest:
            return bytes(out)


# ---------------------------------------------------------------- Flux

class FluxError(Exception):
    def __init__(self, message, tok=None):
        super().__init__(message)
        self.tok = tok

    def text(self):
        if self.tok is None:
            return "compilation failed: %s" % self.args[0]
        t = self.tok
        return "compilation failed: error @%d:%d-%d:%d: %s" % (
            t.line, t.col, t.end_line, t.end_col, self.args[0])


class Tok:
    __slots__ = ("kind", "value", "line", "col", "end_line", "end_col")

    def __init__(self, kind, value, line, col, end_line, end_col):
        self.kind, self.value = kind, value
        self.line, self.col, self.end_line, self.end_col = line, col, end_line, end_col

    def __repr__(self):
        return "%s %r" % (self.kind, self.value)


_FLUX_TOKEN = re.compile(r"""
 (?P<ws>[ \t\r\n]+)
|(?P<comment>//[^\n]*)
|(?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?)
|(?P<duration>(?:\d+(?:mo|ms|us|µs|ns|y|w|d|h|m|s))+)
|(?P<float>\d+\.\d+)
|(?P<int>\d+)
|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
|(?P<string>")
|(?P<op>\|>|=>|==|!=|<=|>=|=~|!~|[()\[\]{},:.\-+*/<>=%^?])
""", re.X)
_FLUX_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
_DURATION_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 1000000, "s": 1000000000,
                   "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9,
                   "w": 7 * 86400 * 10**9}


def flux_tokens(text):
    toks = []
    i, n = 0, len(text)
    line, line_start = 1, 0

    def pos(k):
        return line, k - line_start + 1

    while i < n:
        m = _FLUX_TOKEN.match(text, i)
        l0, c0 = pos(i)
        if m is None:
            t = Tok("bad", text[i], l0, c0, l0, c0 + 1)
            raise FluxError("invalid character %s" % json.dumps(text[i]), t)
        kind = m.lastgroup
        if kind == "string":
            j = i + 1
            buf = bytearray()
            while True:
                if j >= n:
                    t = Tok("string", None, l0, c0, *pos(j))
                    raise FluxError("unterminated string literal", t)
                c = text[j]
                if c == '"':
                    j += 1
                    break
                if c == "\\":
                    e = text[j + 1] if j + 1 < n else ""
                    if e in _FLUX_ESCAPES:
                        buf += _FLUX_ESCAPES[e].encode("utf-8")
                        j += 2
                        continue
                    if e == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[j + 2:j + 4]):
                        buf.append(int(text[j + 2:j + 4], 16))
                        j += 4
                        continue
                    t = Tok("string", None, *pos(j), *pos(j + 2))
                    raise FluxError("invalid escape sequence \\%s" % e, t)
                if c == "$" and text[j + 1:j + 2] == "{":
                    t = Tok("string", None, *pos(j), *pos(j + 2))
                    raise FluxError("string interpolation is not supported by this test server", t)
                if c == "\n":
                    line += 1
                    line_start = j + 1
                buf += c.encode("utf-8", "surrogateescape")
                j += 1
            try:
                value = buf.decode("utf-8")
            except UnicodeDecodeError:
                t = Tok("string", None, l0, c0, *pos(j))
                raise FluxError("invalid UTF-8 in string literal", t) from None
            toks.append(Tok("string", value, l0, c0, *pos(j)))
            i = j
            continue
        j = m.end()
        if kind not in ("ws", "comment"):
            toks.append(Tok(kind, m.group(), l0, c0, *pos(j)))
        seg = m.group()
        if "\n" in seg:
            line += seg.count("\n")
            line_start = i + seg.rfind("\n") + 1
        i = j
    toks.append(Tok("eof", None, *pos(n), *pos(n)))
    return toks


def parse_datetime(s, tok):
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                     r"(Z|[+-]\d{2}:\d{2}))?", s)
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = mi = sec = 0
    frac, offset = 0, 0
    if m.group(4):
        h, mi, sec = int(m.group(4)), int(m.group(5)), int(m.group(6))
        if m.group(7):
            frac = int((m.group(7) + "000000000")[:9])
        z = m.group(8)
        if z != "Z":
            sign = 1 if z[0] == "+" else -1
            offset = sign * (int(z[1:3]) * 3600 + int(z[4:6]) * 60)
    try:
        datetime.datetime(y, mo, d, h, mi, sec)
    except ValueError as e:
        raise FluxError("invalid date time literal: %s" % e, tok) from None
    return (calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) - offset) * 10**9 + frac


def parse_duration(s, tok):
    total = 0
    for num, unit in re.findall(r"(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)", s):
        if unit not in _DURATION_UNITS:
            raise FluxError("calendar durations (mo, y) are not supported by this test server", tok)
        total += int(num) * _DURATION_UNITS[unit]
    return total


class FluxQuery:
    def __init__(self):
        self.bucket = None
        self.start = None
        self.stop = None
        self.conds = []
        self.grouped = False
        self.group_columns = []
        self.result = "_result"
        self.distinct = None      # the kept columns of the distinct-tuples shape
        self.limit = (0, 0)       # its final limit(n, offset)


class FluxParser:
    """Only: from(bucket: "B") |> range(start: T[, stop: T])
    |> filter(fn: (r) => COND and ...)* |> group(columns: ["C", ...])? |> count() |> yield()?"""

    def __init__(self, text, now):
        self.toks = flux_tokens(text)
        self.i = 0
        self.now = now

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self):
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    @staticmethod
    def describe(t):
        if t.kind == "eof":
            return "EOF"
        if t.kind == "string":
            return "string literal"
        return repr(t.value) if t.kind == "op" else "%s %s" % (t.kind, t.value)

    def expect_op(self, op):
        t = self.take()
        if t.kind != "op" or t.value != op:
            raise FluxError("expected %s, got %s" % (op, self.describe(t)), t)
        return t

    def expect_ident(self, name=None):
        t = self.take()
        if t.kind != "ident" or (name is not None and t.value != name):
            raise FluxError("expected %s, got %s" % (name or "identifier", self.describe(t)), t)
        return t

    def is_op(self, op, k=0):
        t = self.peek(k)
        return t.kind == "op" and t.value == op

    def args(self, parsers):
        """( name: value, ... ) with a parser per allowed name."""
        self.expect_op("(")
        seen = {}
        while not self.is_op(")"):
            name = self.expect_ident()
            if name.value not in parsers:
                raise FluxError("unsupported argument %s (this test server accepts %s)"
                                % (name.value, ", ".join(sorted(parsers)) or "none"), name)
            if name.value in seen:
                raise FluxError("duplicate argument %s" % name.value, name)
            self.expect_op(":")
            seen[name.value] = parsers[name.value]()
            if not self.is_op(","):
                break
            self.take()
        self.expect_op(")")
        return seen

    def string(self):
        t = self.take()
        if t.kind != "string":
            raise FluxError("expected string literal, got %s" % self.describe(t), t)
        return t.value

    def time_value(self):
        t = self.take()
        if t.kind == "datetime":
            return parse_datetime(t.value, t)
        if t.kind == "int":
            return int(t.value) * 10**9
        if t.kind == "duration":
            return self.now + parse_duration(t.value, t)
        if t.kind == "op" and t.value == "-" and self.peek().kind == "duration":
            d = self.take()
            return self.now - parse_duration(d.value, d)
        if t.kind == "ident" and t.value == "now" and self.is_op("("):
            self.take()
            self.expect_op(")")
            return self.now
        raise FluxError("expected a time (RFC3339 literal, integer, duration or now()), got %s"
                        % self.describe(t), t)

    def fn(self):
        self.expect_op("(")
        param = self.expect_ident().value
        self.expect_op(")")
        self.expect_op("=>")
        return self.conjunction(param)

    def conjunction(self, param):
        conds = self.primary(param)
        while self.peek().kind == "ident" and self.peek().value == "and":
            self.take()
            conds += self.primary(param)
        t = self.peek()
        if t.kind == "ident" and t.value in ("or", "not"):
            raise FluxError("%s is not supported by this test server" % t.value, t)
        return conds

    def primary(self, param):
        if self.is_op("("):
            self.take()
            conds = self.conjunction(param)
            self.expect_op(")")
            return conds
        left = self.operand(param)
        op = self.take()
        if op.kind != "op" or op.value != "==":
            raise FluxError("only == comparisons are supported by this test server, got %s"
                            % self.describe(op), op)
        right = self.operand(param)
        if left[0] == "col" and right[0] == "str":
            col, val = left[1], right[1]
        elif left[0] == "str" and right[0] == "col":
            col, val = right[1], left[1]
        else:
            raise FluxError("a comparison must test a column of %s against a string" % param, op)
        if col in ("_time", "_value", "_start", "_stop"):
            raise FluxError("filtering on %s is not supported by this test server" % col, op)
        return [(col, val)]

    def operand(self, param):
        t = self.take()
        if t.kind == "string":
            return ("str", t.value)
        if t.kind == "ident" and t.value == param:
            if self.is_op("."):
                self.take()
                return ("col", self.expect_ident().value)
            if self.is_op("["):
                self.take()
                col = self.string()
                self.expect_op("]")
                return ("col", col)
        if t.kind == "ident":
            raise FluxError("undefined identifier %s" % t.value, t)
        raise FluxError("unexpected %s" % self.describe(t), t)

    def string_list(self):
        self.expect_op("[")
        items = []
        while not self.is_op("]"):
            items.append(self.string())
            if not self.is_op(","):
                break
            self.take()
        self.expect_op("]")
        return items

    def parse(self):
        q = FluxQuery()
        self.expect_ident("from")
        a = self.args({"bucket": self.string})
        if "bucket" not in a:
            raise FluxError("missing required argument bucket", self.peek())
        q.bucket = a["bucket"]
        stage = 0   # 0 range needed, 1 filters, 2 after group, 3 after count, 4 after yield
        while self.is_op("|>"):
            self.take()
            name = self.expect_ident()
            f = name.value
            if stage == 0 and f != "range":
                raise FluxError("this test server needs range() right after from()", name)
            if f == "range" and stage == 0:
                a = self.args({"start": self.time_value, "stop": self.time_value})
                if "start" not in a:
                    raise FluxError("missing required argument start", name)
                q.start, q.stop = a["start"], a.get("stop", self.now)
                stage = 1
            elif f == "filter" and stage == 1:
                a = self.args({"fn": self.fn, "onEmpty": self.string})
                if "fn" not in a:
                    raise FluxError("missing required argument fn", name)
                if a.get("onEmpty", "drop") not in ("drop", "keep"):
                    raise FluxError("onEmpty must be drop or keep", name)
                q.conds += a["fn"]
            elif f == "group" and stage == 1:
                a = self.args({"columns": self.string_list, "mode": self.string})
                if a.get("mode", "by") != "by":
                    raise FluxError("only group mode by is supported by this test server", name)
                q.grouped = True
                q.group_columns = a.get("columns", [])
                stage = 2
            elif f == "first" and stage == 1:
                self.args({})
                stage = 10
            elif f == "keep" and stage == 10:
                q.distinct = self.args({"columns": self.string_list}).get("columns", [])
                stage = 11
            elif f == "group" and stage == 11:
                if self.args({"columns": self.string_list}).get("columns") != q.distinct:
                    raise FluxError("group(columns:) must list the kept columns here", name)
                stage = 12
            elif f == "limit" and stage == 12:
                if self.args({"n": self.integer}).get("n") != 1:
                    raise FluxError("limit(n: 1) expected here", name)
                stage = 13
            elif f == "group" and stage == 13:
                self.args({})
                stage = 14
            elif f == "sort" and stage == 14:
                if self.args({"columns": self.string_list}).get("columns") != q.distinct:
                    raise FluxError("sort(columns:) must list the kept columns here", name)
                stage = 15
            elif f == "limit" and stage == 15:
                a = self.args({"n": self.integer, "offset": self.integer})
                q.limit = (a.get("n", 0), a.get("offset", 0))
                stage = 16
            elif f == "count" and stage in (1, 2):
                a = self.args({"column": self.string})
                if a.get("column", "_value") != "_value":
                    raise FluxError("only count() of _value is supported by this test server", name)
                stage = 3
            elif f == "yield" and stage == 3:
                a = self.args({"name": self.string})
                q.result = a.get("name", "_result")
                stage = 4
            else:
                raise FluxError("%s() is not supported here by this test server "
                                "(from |> range |> filter* |> group(columns: [...])? |> count() |> yield()?)"
                                % f, name)
        t = self.peek()
        if t.kind != "eof":
            raise FluxError("unexpected %s" % self.describe(t), t)
        if stage < 3 or 10 <= stage < 16:
            raise FluxError("this test server needs the query to end with count() "
                            "or the distinct-tuples shape's limit()", t)
        return q

    def integer(self):
        t = self.take()
        if t.kind != "int":
            raise FluxError("expected integer, got %s" % self.describe(t), t)
        return int(t.value)


def column_value(m, tags, f, col):
    """The value of column col of a point: _measurement, _field or a tag (None when absent)."""
    if col == "_measurement":
        return m
    if col == "_field":
        return f
    for k, v in tags:
        if k == col:
            return v
    return None


def csv_field(s, delim):
    """encoding/csv quoting."""
    if s == "":
        return s
    if s == "\\." or delim in s or '"' in s or "\r" in s or "\n" in s or s[0].isspace():
        return '"' + s.replace('"', '""') + '"'
    return s


def encode_csv(result, tables, dialect):
    """Flux's CSV encoder: tables are (columns [(name, type, group)], rows)."""
    ann = dialect["annotations"]
    d = dialect["delimiter"]
    out = []
    prev = None
    for table_id, (cols, rows) in enumerate(tables):
        if cols != prev:
            if prev is not None:
                out.append("")
            if "datatype" in ann:
                out.append(d.join(["#datatype", "string", "long"] + [c[1] for c in cols]))
            if "group" in ann:
                out.append(d.join(["#group", "false", "false"] + ["true" if c[2] else "false" for c in cols]))
            if "default" in ann:
                out.append(d.join(["#default", csv_field(result, d), ""] + ["" for _ in cols]))
            if dialect["header"]:
                out.append(d.join(["", "result", "table"] + [csv_field(c[0], d) for c in cols]))
            prev = cols
        for r in rows:
            res = "" if "default" in ann else csv_field(result, d)
            out.append(d.join(["", res, str(table_id)] + [csv_field(str(v), d) for v in r]))
    body = "\r\n".join(out) + "\r\n" if out else ""
    return body + "\r\n"


# ---------------------------------------------------------------- state

def now_ns():
    return time.time_ns()


class State:
    def __init__(self, org_name, org_id, admin_token, user_name, hash_tokens, max_body,
                 auth_page_size):
        self.lock = threading.RLock()
        self.hash_tokens = hash_tokens
        self.max_body = max_body
        self.auth_page_size = auth_page_size
        self.used_ids = set()
        created = rfc3339(now_ns())
        self.org = {"id": org_id or self.new_id(), "name": org_name, "description": "",
                    "createdAt": created, "updatedAt": created}
        self.used_ids.add(self.org["id"])
        self.user = {"id": self.new_id(), "name": user_name}
        perms = []
        for t in RESOURCE_TYPES:
            for action in ("read", "write"):
                perms.append({"action": action, "resource": {"type": t}})
        self.admin_auth = {"id": self.new_id(), "token": admin_token, "status": "active",
                           "description": "%s's Token" % user_name, "orgID": self.org["id"],
                           "userID": self.user["id"], "permissions": perms,
                           "createdAt": created, "updatedAt": created}
        self.system_buckets = [
            self.make_bucket("_monitoring", 7 * 86400, 86400, "system",
                             "System bucket for monitoring logs"),
            self.make_bucket("_tasks", 3 * 86400, 86400, "system", "System bucket for task logs"),
        ]
        self.reset()

    def new_id(self):
        while True:
            s = secrets.token_hex(8)
            if s[0] != "0" and s not in self.used_ids:
                self.used_ids.add(s)
                return s

    def make_bucket(self, name, every, sgd, typ="user", description=""):
        t = rfc3339(now_ns())
        return {"id": self.new_id(), "orgID": self.org["id"], "type": typ, "name": name,
                "description": description, "every": every, "sgd": sgd,
                "createdAt": t, "updatedAt": t}

    def reset(self):
        with self.lock:
            # ends the connections that "hang" holds (see Handler.hang)
            self.generation = getattr(self, "generation", 0) + 1
            self.buckets = {b["id"]: b for b in self.system_buckets}
            self.auths = {self.admin_auth["id"]: self.admin_auth}
            self.points = {}        # bucket id -> {(m, tags, field, ts): (type, value)}
            self.dbrps = {}         # id -> physical DBRP mapping
            self.dbrp_default = {}  # (orgID, database) -> id of its default mapping
            self.field_types = {}   # bucket id -> {measurement: {field: type}}
            self.requests = []
            self.faults = []
            self.flux_to = []       # downsampling queries accepted (parse_downsample)

    # -- lookups
    def auth_by_token(self, token):
        with self.lock:
            for a in self.auths.values():
                if secrets.compare_digest(a["token"].encode(), token.encode()):
                    return a
        return None

    def bucket_by_name(self, org_id, name):
        for b in self.buckets.values():
            if b["orgID"] == org_id and b["name"] == name:
                return b
        return None

    def org_by_id(self, oid):
        return self.org if oid == self.org["id"] else None

    def org_by_name(self, name):
        return self.org if name == self.org["name"] else None

    # -- faults and log
    def add_faults(self, rules):
        with self.lock:
            self.faults.extend(rules)

    def take_fault(self, method, path):
        with self.lock:
            return stand_in.take_fault(self.faults, method, path)

    def log_request(self, rec):
        with self.lock:
            self.requests.append(rec)


def allowed(auth, action, rtype, rid=None, org_id=None):
    """Permission.Matches (the 2.x "v1" matcher)."""
    for p in auth["permissions"]:
        r = p["resource"]
        if p["action"] != action or r["type"] != rtype:
            continue
        pid, porg = r.get("id"), r.get("orgID")
        if pid is None and porg is None:
            return True
        if pid is None and porg is not None and org_id is not None and porg == org_id:
            return True
        if pid is not None and rid is not None and pid == rid:
            return True
    return False


def perm_text(action, rtype, org_id=None, rid=None):
    s = "%s:" % action
    if org_id:
        s += "orgs/%s/" % org_id
    s += rtype
    if rid:
        s += "/" + rid
    return s


# ---------------------------------------------------------------- API logic

class Api:
    def __init__(self, state):
        self.st = state

    # -- shapes
    def org_json(self, o):
        links = {k: v for k, v in sorted({
            "self": "/api/v2/orgs/%s" % o["id"],
            "logs": "/api/v2/orgs/%s/logs" % o["id"],
            "members": "/api/v2/orgs/%s/members" % o["id"],
            "owners": "/api/v2/orgs/%s/owners" % o["id"],
            "secrets": "/api/v2/orgs/%s/secrets" % o["id"],
            "labels": "/api/v2/orgs/%s/labels" % o["id"],
            "buckets": "/api/v2/buckets?org=%s" % o["name"],
            "tasks": "/api/v2/tasks?org=%s" % o["name"],
            "dashboards": "/api/v2/dashboards?org=%s" % o["name"],
        }.items())}
        return {"links": links, "id": o["id"], "name": o["name"], "description": o["description"],
                "createdAt": o["createdAt"], "updatedAt": o["updatedAt"]}

    def bucket_json(self, b):
        d = {"id": b["id"], "orgID": b["orgID"], "type": b["type"]}
        if b["description"]:
            d["description"] = b["description"]      # omitempty in InfluxDB
        d["name"] = b["name"]
        # the shard-group duration is always set (normalised), so InfluxDB
        # 2.7 always shows one rule; everySeconds 0 is infinite retention
        d["retentionRules"] = [{"type": "expire", "everySeconds": b["every"],
                                "shardGroupDurationSeconds": b["sgd"]}]
        d["createdAt"] = b["createdAt"]
        d["updatedAt"] = b["updatedAt"]
        d["links"] = {
            "labels": "/api/v2/buckets/%s/labels" % b["id"],
            "members": "/api/v2/buckets/%s/members" % b["id"],
            "org": "/api/v2/orgs/%s" % b["orgID"],
            "owners": "/api/v2/buckets/%s/owners" % b["id"],
            "self": "/api/v2/buckets/%s" % b["id"],
            "write": "/api/v2/write?org=%s&bucket=%s" % (b["orgID"], b["id"]),
        }
        d["labels"] = []
        return d

    def auth_json(self, a, show_token):
        st = self.st
        perms = []
        for p in a["permissions"]:
            r = p["resource"]
            res = {"type": r["type"]}
            if r.get("id"):
                res["id"] = r["id"]
            if r.get("orgID"):
                res["orgID"] = r["orgID"]
            found = True
            if r.get("id") and r["type"] == "buckets":
                b = st.buckets.get(r["id"])
                if b is None:
                    found = False
                else:
                    res["name"] = b["name"]
            if found and r.get("orgID"):
                o = st.org_by_id(r["orgID"])
                if o:
                    res["org"] = o["name"]
            perms.append({"action": p["action"], "resource": res})
        org = st.org_by_id(a["orgID"])
        return {"id": a["id"], "token": a["token"] if show_token else "", "status": a["status"],
                "description": a["description"], "orgID": a["orgID"],
                "org": org["name"] if org else "", "userID": a["userID"], "user": st.user["name"],
                "permissions": perms,
                "links": {"self": "/api/v2/authorizations/%s" % a["id"],
                          "user": "/api/v2/users/%s" % a["userID"]},
                "createdAt": a["createdAt"], "updatedAt": a["updatedAt"]}

    @staticmethod
    def find_options(q):
        """influxdb.DecodeFindOptions."""
        o = {"offset": 0, "limit": DEFAULT_PAGE_SIZE, "after": None, "descending": False,
             "sortBy": ""}
        if q.get("offset"):
            try:
                o["offset"] = go_atoi(q["offset"])
            except ValueError:
                raise ApiError("invalid", "offset is invalid") from None
        if q.get("after"):
            try:
                o["after"] = parse_id(q["after"])
            except ApiError as e:
                raise ApiError("invalid", "decoding after: %s" % e.message) from None
        if q.get("limit"):
            try:
                limit = go_atoi(q["limit"])
            except ValueError:
                raise ApiError("invalid", "limit is invalid") from None
            if limit < 1 or limit > MAX_PAGE_SIZE:
                raise ApiError("invalid", "limit must be between 1 and %d" % MAX_PAGE_SIZE)
            o["limit"] = limit
        if q.get("sortBy"):
            o["sortBy"] = q["sortBy"]
        if q.get("descending"):
            try:
                o["descending"] = go_parse_bool(q["descending"])
            except ValueError:
                raise ApiError("invalid", "descending is invalid") from None
        return o

    @staticmethod
    def paging_links(base, opts, filt, num):
        """influxdb.NewPagingLinks: next whenever the page is full."""
        values = [(k, v) for k, v in filt if v != ""]
        values += [("descending", "true" if opts["descending"] else "false"),
                   ("offset", str(opts["offset"]))]
        if opts["after"]:
            values.append(("after", opts["after"]))
        if opts["limit"] > 0:
            values.append(("limit", str(opts["limit"])))
        if opts["sortBy"]:
            values.append(("sortBy", opts["sortBy"]))

        def url(offset=None):
            vs = [(k, str(offset) if k == "offset" and offset is not None else v)
                  for k, v in values]
            vs.sort(key=lambda kv: kv[0])
            return base + "?" + urlencode(vs)

        links = {}
        if opts["offset"] > 0:
            links["prev"] = url(max(0, opts["offset"] - opts["limit"]))
        links["self"] = url()
        if num >= opts["limit"]:
            links["next"] = url(opts["offset"] + opts["limit"])
        return links

    def query_org(self, q):
        """http.queryOrganization: org may also be an ID; orgID wins."""
        fid = fname = None
        if q.get("org"):
            if is_id(q["org"]):
                fid = parse_id(q["org"])
            else:
                fname = q["org"]
        if q.get("orgID"):
            fid = parse_id(q["orgID"])
        if fid is None and fname is None:
            raise ApiError("invalid", "Please provide either orgID or org")
        if fid is not None:
            o = self.st.org_by_id(fid)
            if o is None:
                raise ApiError("not found", "organization not found")
            return o
        o = self.st.org_by_name(fname)
        if o is None:
            raise ApiError("not found", 'organization name "%s" not found' % fname)
        return o

    # -- orgs
    def get_orgs(self, q, auth):
        opts = self.find_options(q)
        orgs = [self.st.org]
        if q.get("org"):
            orgs = [o for o in orgs if o["name"] == q["org"]]
            if not orgs:
                raise ApiError("not found", 'organization name "%s" not found' % q["org"])
        if q.get("orgID") and is_id(q["orgID"]):
            orgs = [o for o in orgs if o["id"] == parse_id(q["orgID"])]
            if not orgs:
                raise ApiError("not found", "organization not found")
        orgs = orgs[max(opts["offset"], 0):][:opts["limit"]]
        orgs = [o for o in orgs if allowed(auth, "read", "orgs", o["id"], o["id"])]
        return 200, {"links": {"self": "/api/v2/orgs"}, "orgs": [self.org_json(o) for o in orgs]}

    # -- buckets
    def get_buckets(self, q, auth):
        st = self.st
        opts = self.find_options(q)
        f_org_id = parse_id(q["orgID"]) if q.get("orgID") else None
        f_id = parse_id(q["id"]) if q.get("id") else None
        f_org = q.get("org") or None
        f_name = q.get("name") or None
        with st.lock:
            if f_id is not None:
                b = st.buckets.get(f_id)
                if b is None:
                    raise ApiError("not found", "bucket not found")
                found = [b]
            else:
                org_id = f_org_id
                if org_id is None and f_org is not None:
                    o = st.org_by_name(f_org)
                    if o is None:
                        raise ApiError("not found", 'organization name "%s" not found' % f_org)
                    org_id = o["id"]
                if f_name is not None and org_id is not None:
                    b = st.bucket_by_name(org_id, f_name)
                    if b is None:
                        raise ApiError("not found", 'bucket "%s" not found' % f_name)
                    found = [b]
                elif org_id is not None:
                    # the org index is keyed by org id + name: sorted by name,
                    # "after" and "descending" are not used
                    bs = sorted((b for b in st.buckets.values() if b["orgID"] == org_id),
                                key=lambda b: b["name"].encode("utf-8"))
                    found = bs[max(opts["offset"], 0):][:opts["limit"]]
                else:
                    bs = sorted(st.buckets.values(), key=lambda b: b["id"],
                                reverse=opts["descending"])
                    if opts["after"]:
                        bs = [b for b in bs if b["id"] > opts["after"]]
                    found = []
                    for b in bs[max(opts["offset"], 0):]:
                        if f_name is None or b["name"] == f_name:
                            found.append(b)
                        if len(found) >= opts["limit"]:
                            break
            # the authorizer filters what the token may not read
            found = [b for b in found if allowed(auth, "read", "buckets", b["id"], b["orgID"])]
            filt = [("id", q.get("id", "")), ("name", q.get("name", "")),
                    ("orgID", q.get("orgID", "")), ("org", q.get("org", ""))]
            links = self.paging_links("/api/v2/buckets", opts, filt, len(found))
            return 200, {"links": links, "buckets": [self.bucket_json(b) for b in found]}

    def get_bucket(self, bid, auth):
        bid = parse_id(bid)
        with self.st.lock:
            b = self.st.buckets.get(bid)
            if b is None:
                raise ApiError("not found", "bucket not found")
            if not allowed(auth, "read", "buckets", b["id"], b["orgID"]):
                raise ApiError("unauthorized", "%s is unauthorized"
                               % perm_text("read", "buckets", b["orgID"], b["id"]))
            return 200, self.bucket_json(b)

    def delete_bucket(self, bid, auth):
        bid = parse_id(bid)
        st = self.st
        with st.lock:
            b = st.buckets.get(bid)
            if b is None:
                raise ApiError("not found", "bucket not found")
            if not allowed(auth, "write", "buckets", b["id"], b["orgID"]):
                raise ApiError("unauthorized", "%s is unauthorized"
                               % perm_text("write", "buckets", b["orgID"], b["id"]))
            if b["type"] == "system":
                raise ApiError("invalid", "system buckets cannot be deleted")
            del st.buckets[bid]
            st.points.pop(bid, None)
            st.field_types.pop(bid, None)
            return 204, None

    def post_bucket(self, body, auth):
        st = self.st
        try:
            d = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError("invalid", "failed to decode request body: %s" % e) from None
        if not isinstance(d, dict):
            raise ApiError("invalid", "failed to decode request body: json: cannot unmarshal %s "
                           "into Go value of type tenant.postBucketRequest" % type(d).__name__)
        org_id = d.get("orgID")
        if org_id is not None and not isinstance(org_id, str):
            raise ApiError("invalid", "failed to decode request body: invalid orgID")
        if org_id:
            try:
                org_id = parse_id(org_id)
            except ApiError as e:
                raise ApiError("invalid", "failed to decode request body: %s" % e.message) from None
        else:
            raise ApiError("invalid", "organization id must be provided")
        name = d.get("name", "")
        desc = d.get("description") or ""
        rules = d.get("retentionRules") or []
        if not isinstance(name, str) or not isinstance(desc, str) or not isinstance(rules, list):
            raise ApiError("invalid", "failed to decode request body: wrong type")
        if len(rules) > 1:
            raise ApiError("unprocessable entity",
                           "buckets cannot have more than one retention rule at this time")
        every = sgd = 0
        if rules:
            r = rules[0] if isinstance(rules[0], dict) else {}
            every = r.get("everySeconds", 0) or 0
            sgd = r.get("shardGroupDurationSeconds", 0) or 0
            if not isinstance(every, int) or not isinstance(sgd, int):
                raise ApiError("invalid", "failed to decode request body: wrong type")
            if every < 0:
                raise ApiError("unprocessable entity", "expiration seconds cannot be negative")
            if sgd < 0:
                raise ApiError("unprocessable entity", "shard-group duration seconds cannot be negative")
        if not allowed(auth, "write", "buckets", None, org_id):
            raise ApiError("unauthorized", "%s is unauthorized" % perm_text("write", "buckets", org_id))
        # validBucketName (tenant/service_bucket.go)
        if name.startswith("_"):
            raise ApiError("invalid", "bucket name %s is invalid. Buckets may not start with underscore"
                           % name)
        if '"' in name:
            raise ApiError("invalid", "bucket name %s is invalid. Bucket names may not include "
                           "quotation marks" % name)
        if name == "":
            # test server: not checked by InfluxDB 2.7 as far as its sources show
            raise ApiError("invalid", "bucket name is empty")
        with st.lock:
            if st.org_by_id(org_id) is None:
                raise ApiError("not found", "organization not found")
            if st.bucket_by_name(org_id, name) is not None:
                raise ApiError("conflict", "bucket with name %s already exists" % name)
            sgd = normalised_shard_duration(sgd, every)
            # meta.RetentionPolicySpec checks, plain errors (500) in InfluxDB
            if 0 < every < 3600:
                raise ApiError("internal error", "retention policy duration must be at least 1h0m0s")
            if every and sgd > every:
                raise ApiError("internal error",
                               "retention policy duration must be greater than the shard duration")
            b = st.make_bucket(name, every, sgd, "user", desc)
            st.buckets[b["id"]] = b
            return 201, self.bucket_json(b)

    # -- DBRP mappings (dbrp/http_server_dbrp.go, dbrp/service.go, dbrp/middleware_auth.go)

    def _dbrp_org(self, q_org_id, q_org):
        """mustGetOrgIDFromHTTPRequest: orgID, else org by name."""
        if q_org_id:
            try:
                oid = parse_id(q_org_id)
            except ApiError:
                raise ApiError("invalid", "invalid org ID %s" % go_json(q_org_id)) from None
            return oid
        if not q_org:
            raise ApiError("invalid", "either 'org' or 'orgID' must be provided")
        o = self.st.org_by_name(q_org)
        if o is None:
            raise ApiError("not found", "invalid org %s" % go_json(q_org))
        return o["id"]

    def _dbrp_json(self, m, default):
        return {"id": m["id"], "database": m["database"], "retention_policy": m["retention_policy"],
                "default": default, "virtual": m.get("virtual", False), "orgID": m["orgID"],
                "bucketID": m["bucketID"]}

    def get_dbrps(self, q, auth):
        st = self.st
        with st.lock:
            org_id = self._dbrp_org(q.get("orgID"), q.get("org"))
            want = {}
            for key, label in (("id", "DBRP ID"), ("bucketID", "bucket ID")):
                if q.get(key):
                    try:
                        want[key] = parse_id(q[key])
                    except ApiError:
                        raise ApiError("invalid", "invalid %s %s" % (label, go_json(q[key]))) from None
            if q.get("default"):
                try:
                    want["default"] = go_parse_bool(q["default"])
                except ValueError:
                    raise ApiError("invalid", "invalid default parameter") from None
            for key, field in (("db", "database"), ("rp", "retention_policy")):
                if q.get(key):
                    want[field] = q[key]
            out = []
            for m in st.dbrps.values():
                if m["orgID"] == org_id:
                    out.append(self._dbrp_json(m, st.dbrp_default.get((org_id, m["database"])) == m["id"]))
            # virtual mappings: one per bucket, named after it (parseDBRP); default
            # unless a physical mapping points at that bucket
            for b in sorted(st.buckets.values(), key=lambda b: b["id"]):
                if b["orgID"] != org_id:
                    continue
                db, _, rp = b["name"].partition("/")
                physical = any(m["bucketID"] == b["id"] for m in st.dbrps.values())
                out.append({"id": b["id"], "database": db, "retention_policy": rp or "autogen",
                            "default": not physical, "virtual": True, "orgID": org_id, "bucketID": b["id"]})
            out = [m for m in out if all(m.get(k) == v for k, v in want.items())]
            # AuthorizeFindDBRPs: the mappings of the buckets the token can read
            out = [m for m in out if allowed(auth, "read", "buckets", m["bucketID"], m["orgID"])]
            return 200, {"content": out}

    def post_dbrp(self, body, auth):
        st = self.st
        try:
            d = json.loads(body.decode("utf-8"))
            if not isinstance(d, dict):
                raise ValueError("not an object")
            for k in ("database", "retention_policy", "org", "orgID", "bucketID"):
                if not isinstance(d.get(k, ""), str):
                    raise ValueError(k)
            if not isinstance(d.get("default", False), bool):
                raise ValueError("default")
        except (ValueError, UnicodeDecodeError):
            raise ApiError("invalid", "invalid json structure") from None
        with st.lock:
            org_id = self._dbrp_org(d.get("orgID"), d.get("org"))
            try:
                bucket_id = parse_id(d.get("bucketID", ""))
            except ApiError:
                raise ApiError("invalid", "invalid bucket ID %s" % go_json(d.get("bucketID", ""))) from None
            # AuthorizedService.Create: write on the bucket, before anything else
            if not allowed(auth, "write", "buckets", bucket_id, org_id):
                raise ApiError("unauthorized", "%s is unauthorized"
                               % perm_text("write", "buckets", org_id, bucket_id))
            db, rp = d.get("database", ""), d.get("retention_policy", "")

            def valid(name):  # validName (dbrp_mapping.go)
                return (name not in ("", ".", "..") and "/" not in name and "\\" not in name
                        and all(c.isprintable() for c in name))
            if not valid(db):
                raise ApiError("invalid", "DBRP provided is invalid: database must contain at least one "
                               "character and only be letters, numbers, '_', '-', and '.'")
            if not valid(rp):
                raise ApiError("invalid", "DBRP provided is invalid: retentionPolicy must contain at least "
                               "one character and only be letters, numbers, '_', '-', and '.'")
            b = st.buckets.get(bucket_id)
            if b is None or b["orgID"] != org_id:
                raise ApiError("not found", "bucket not found")
            if any(m["orgID"] == org_id and m["database"] == db and m["retention_policy"] == rp
                   for m in st.dbrps.values()):
                raise ApiError("conflict", "another DBRP mapping with same orgID, db, and rp exists")
            m = {"id": st.new_id(), "database": db, "retention_policy": rp, "orgID": org_id,
                 "bucketID": bucket_id}
            st.dbrps[m["id"]] = m
            # the first mapping of an org's database is its default
            if d.get("default", False) or (org_id, db) not in st.dbrp_default:
                st.dbrp_default[(org_id, db)] = m["id"]
            return 201, self._dbrp_json(m, st.dbrp_default[(org_id, db)] == m["id"])

    # -- the 1.x compatibility API: /query (InfluxQL)
    def influxql(self, q, body, ctype, auth):
        """GET or POST /query?db=&q= as InfluxDB 2 serves it to 1.x clients
        (Grafana's InfluxQL datasource): the database is resolved through the
        DBRP mappings of the token's readable buckets (the default physical
        mapping of that database, else the virtual one of a bucket of that
        name). test server: only SHOW MEASUREMENTS is run (what Grafana's
        health check sends); any other statement is answered with an error."""
        st = self.st
        params = dict(q)
        if ctype and ctype.split(";")[0].strip() == "application/x-www-form-urlencoded":
            for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(k, v)
        text = (params.get("q") or "").strip().rstrip(";").strip()
        db = params.get("db", "")
        if not text:
            raise ApiError("invalid", 'missing required parameter "q"')
        with st.lock:
            bucket = None
            for m in sorted(st.dbrps.values(), key=lambda m: m["id"]):
                if m["database"] == db and st.dbrp_default.get((m["orgID"], db)) == m["id"] and \
                        allowed(auth, "read", "buckets", m["bucketID"], m["orgID"]):
                    bucket = st.buckets.get(m["bucketID"])
                    break
            if bucket is None:
                for b in sorted(st.buckets.values(), key=lambda b: b["id"]):
                    if b["name"] == db and allowed(auth, "read", "buckets", b["id"], b["orgID"]):
                        bucket = b
                        break
            if bucket is None:
                return 200, {"results": [{"statement_id": 0, "error": "database not found: %s" % db}]}
            if not re.fullmatch(r"(?i)show\s+measurements", text):
                return 200, {"results": [{"statement_id": 0,
                                          "error": "test server: only SHOW MEASUREMENTS is run"}]}
            names = sorted(st.field_types.get(bucket["id"], {}))
        res = {"statement_id": 0}
        if names:
            res["series"] = [{"name": "measurements", "columns": ["name"], "values": [[n] for n in names]}]
        return 200, {"results": [res]}

    # -- authorizations
    def get_auths(self, q, auth):
        st = self.st
        f = {}
        for k in ("userID", "orgID", "id"):
            if q.get(k):
                f[k] = parse_id(q[k])
        opts = self.find_options(q)
        with st.lock:
            if q.get("user"):
                if q["user"] != st.user["name"]:
                    raise ApiError("not found", "user not found")
                f["userID"] = st.user["id"]
            if q.get("org"):
                o = st.org_by_name(q["org"])
                if o is None:
                    raise ApiError("not found", 'organization name "%s" not found' % q["org"])
                f["orgID"] = o["id"]
            auths = sorted(st.auths.values(), key=lambda a: a["id"])
            auths = [a for a in auths
                     if all(a.get(k) == v for k, v in f.items())
                     and (a is auth or allowed(auth, "read", "authorizations", a["id"], a["orgID"]))]
            # test server: InfluxDB 2.7 answers every authorization at once
            # and only links.self; here pages of --auth-page-size (or limit)
            # with links.next while more remain, so a paginating client is
            # exercised. --auth-page-size 0 answers all, as InfluxDB.
            size = opts["limit"] if q.get("limit") else st.auth_page_size
            offset = max(opts["offset"], 0)
            page = auths[offset:offset + size] if size > 0 else auths[offset:]
            links = {"self": "/api/v2/authorizations"}
            if size > 0 and offset + size < len(auths):
                vs = [(k, q[k]) for k in ("id", "org", "orgID", "user", "userID") if q.get(k)]
                vs += [("limit", str(size)), ("offset", str(offset + size))]
                links["next"] = "/api/v2/authorizations?" + urlencode(sorted(vs))
            show = not st.hash_tokens
            return 200, {"links": links, "authorizations": [self.auth_json(a, show) for a in page]}

    def get_auth(self, aid, auth):
        aid = parse_id(aid)
        with self.st.lock:
            a = self.st.auths.get(aid)
            if a is None:
                raise ApiError("not found", "authorization not found")
            if a is not auth and not allowed(auth, "read", "authorizations", a["id"], a["orgID"]):
                raise ApiError("unauthorized", "%s is unauthorized"
                               % perm_text("read", "authorizations", a["orgID"], a["id"]))
            return 200, self.auth_json(a, not self.st.hash_tokens)

    def post_auth(self, body, auth):
        st = self.st
        try:
            d = json.loads(body.decode("utf-8"))
            if not isinstance(d, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError("invalid", "invalid json structure: %s" % e) from None
        status = d.get("status") or "active"
        perms = d.get("permissions") or []
        desc = d.get("description") or ""
        if not isinstance(perms, list) or not isinstance(desc, str):
            raise ApiError("invalid", "invalid json structure: wrong type")
        if not perms:
            raise ApiError("invalid", "authorization must include permissions")
        clean = []
        for p in perms:
            if not isinstance(p, dict) or p.get("action") not in ("read", "write"):
                raise ApiError("invalid", "unknown action for permission")
            r = p.get("resource")
            if not isinstance(r, dict) or r.get("type") not in RESOURCE_TYPES:
                raise ApiError("invalid", "unknown resource type for permission")
            res = {"type": r["type"]}
            for k in ("id", "orgID"):
                if r.get(k) is not None:
                    if not isinstance(r[k], str):
                        raise ApiError("invalid", "invalid json structure: wrong type")
                    res[k] = parse_id(r[k])
            clean.append({"action": p["action"], "resource": res})
        org_id = d.get("orgID")
        if not isinstance(org_id, str) or not is_id(org_id):
            raise ApiError("invalid", "org id required")
        org_id = parse_id(org_id)
        if status not in ("active", "inactive"):
            raise ApiError("invalid", "status must be active or inactive")
        if not allowed(auth, "write", "authorizations", None, org_id):
            raise ApiError("unauthorized", "%s is unauthorized"
                           % perm_text("write", "authorizations", org_id))
        with st.lock:
            if st.org_by_id(org_id) is None:
                raise ApiError("not found", "organization not found")
            for p in clean:
                r = p["resource"]
                # test server: a permission on a bucket id that does not exist
                # is refused (InfluxDB 2.7 does not seem to check it)
                if r["type"] == "buckets" and r.get("id") and r["id"] not in st.buckets:
                    raise ApiError("invalid", "bucket %s not found" % r["id"])
            t = rfc3339(now_ns())
            a = {"id": st.new_id(), "token": new_token(), "status": status, "description": desc,
                 "orgID": org_id, "userID": st.user["id"], "permissions": clean,
                 "createdAt": t, "updatedAt": t}
            st.auths[a["id"]] = a
            return 201, self.auth_json(a, True)

    def patch_auth(self, aid, body, auth):
        aid = parse_id(aid)
        try:
            d = json.loads(body.decode("utf-8"))
            if not isinstance(d, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError("invalid", "invalid json structure: %s" % e) from None
        with self.st.lock:
            a = self.st.auths.get(aid)
            if a is None:
                raise ApiError("not found", "authorization not found")
            if not allowed(auth, "write", "authorizations", a["id"], a["orgID"]):
                raise ApiError("unauthorized", "%s is unauthorized"
                               % perm_text("write", "authorizations", a["orgID"], a["id"]))
            if "status" in d:
                if d["status"] not in ("active", "inactive"):
                    raise ApiError("invalid", "status must be active or inactive")
                a["status"] = d["status"]
            if isinstance(d.get("description"), str):
                a["description"] = d["description"]
            a["updatedAt"] = rfc3339(now_ns())
            return 200, self.auth_json(a, not self.st.hash_tokens)

    def delete_auth(self, aid, auth):
        aid = parse_id(aid)
        with self.st.lock:
            a = self.st.auths.get(aid)
            if a is None:
                raise ApiError("not found", "authorization not found")
            if not allowed(auth, "write", "authorizations", a["id"], a["orgID"]):
                raise ApiError("unauthorized", "%s is unauthorized"
                               % perm_text("write", "authorizations", a["orgID"], a["id"]))
            del self.st.auths[aid]
            return 204, None

    # -- write
    def write(self, q, body, encoding, auth, rec):
        st = self.st
        precision = q.get("precision") or "ns"
        if precision not in PRECISIONS:
            raise ApiError("invalid", "invalid precision; valid precision units are ns, us, ms, and s")
        bucket_param = q.get("bucket", "")
        if not bucket_param:
            raise ApiError("not found", "bucket not found")
        gz = encoding in ("gzip", "x-gzip")
        if gz and (len(body) < 10 or body[:3] != b"\x1f\x8b\x08"):
            raise ApiError("invalid", "gzipped HTTP body contains an invalid header: gzip: invalid header")
        org = self.query_org(q)
        with st.lock:
            b = None
            if is_id(bucket_param):
                b = st.buckets.get(parse_id(bucket_param))
            if b is None:
                b = st.bucket_by_name(org["id"], bucket_param)
            if b is None:
                raise ApiError("not found", 'bucket "%s" not found' % bucket_param)
        if not allowed(auth, "write", "buckets", b["id"], org["id"]):
            raise ApiError("forbidden", "insufficient permissions for write")
        if gz:
            try:
                raw = gunzip_limited(body, st.max_body)
            except GzipError as e:
                raise ApiError("invalid" if e.code == "header" else e.code, str(e)) from None
        else:
            raw = body
            if len(raw) > st.max_body:
                raise ApiError("request too large", "unable to read data: points batch is too large")
        data = raw.decode("utf-8", "surrogateescape")
        if not data:
            raise ApiError("invalid", "writing requires points")
        now = now_ns()
        points, errors, nlines = parse_lines(data, precision, now)
        rec["lines"] = nlines
        if errors:
            # InfluxDB joins every bad line; "line" (first bad line, 1-based)
            # is what InfluxDB Cloud adds and what tests look for
            raise ApiError("invalid", "\n".join(m for _, m in errors), line=errors[0][0])
        self.store(b, points, now)
        return 204, None

    def store(self, b, points, now):
        st = self.st
        with st.lock:
            data = st.points.setdefault(b["id"], {})
            types = st.field_types.setdefault(b["id"], {})
            bound = now - b["every"] * 10**9 if b["every"] else None
            expired = []
            dropped, reason = 0, None
            for p in points:
                if bound is not None and p.ts < bound:
                    expired.append(p)
                    continue
                fields = [f for f in p.fields if f[0] != "time"]
                if not fields:
                    dropped += 1
                    reason = reason or ('invalid field name: input field "time" on measurement '
                                        '"%s" is invalid' % p.m)
                    continue
                mt = types.setdefault(p.m, {})
                conflict = None
                for k, typ, _ in fields:
                    old = mt.get(k)
                    if old is not None and old != typ:
                        conflict = ('field type conflict: input field "%s" on measurement "%s" is '
                                    'type %s, already exists as type %s' % (k, p.m, typ, old))
                        break
                if conflict:
                    dropped += 1
                    reason = reason or conflict
                    continue
                for k, typ, v in fields:
                    mt.setdefault(k, typ)
                    data[(p.m, p.tags, k, p.ts)] = (typ, v)
            if expired:
                old = min(expired, key=lambda p: p.ts)
                new = max(expired, key=lambda p: p.ts)
                lb = rfc3339(bound)
                msg = ("failure writing points to database: partial write: dropped %d points outside "
                       "retention policy of duration %s - oldest point %s at %s dropped because it "
                       "violates a Retention Policy Lower Bound at %s, newest point %s at %s dropped "
                       "because it violates a Retention Policy Lower Bound at %s dropped=%d for "
                       "database: %s for retention policy: autogen"
                       % (len(expired), go_duration(b["every"]), old.key, rfc3339(old.ts), lb,
                          new.key, rfc3339(new.ts), lb, len(expired), b["id"]))
                raise ApiError("unprocessable entity", msg)
            if dropped:
                raise ApiError("unprocessable entity",
                               "failure writing points to database: partial write: %s dropped=%d"
                               % (reason, dropped))

    # -- query
    def query(self, q, body, ctype, auth):
        st = self.st
        mt = (ctype or "application/json").split(";")[0].strip().lower()
        dialect = {"header": True, "delimiter": ",", "annotations": [], "dateTimeFormat": "RFC3339"}
        try:
            if mt == "application/vnd.flux":
                text = body.decode("utf-8")
            else:
                try:
                    d = json.loads(body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    raise ValueError(str(e)) from None
                if not isinstance(d, dict):
                    raise ValueError("json: cannot unmarshal into Go value of type http.QueryRequest")
                text = d.get("query") or ""
                qtype = d.get("type") or "flux"
                dd = d.get("dialect") or {}
                if not isinstance(text, str) or not isinstance(dd, dict):
                    raise ValueError("json: wrong type")
                if dd.get("header") is not None:
                    dialect["header"] = bool(dd["header"])
                if dd.get("delimiter"):
                    dialect["delimiter"] = dd["delimiter"]
                if dd.get("dateTimeFormat"):
                    dialect["dateTimeFormat"] = dd["dateTimeFormat"]
                dialect["annotations"] = dd.get("annotations") or []
                if not text and not d.get("ast"):
                    raise ValueError("request body requires either query or AST")
                if qtype != "flux":
                    raise ValueError("unknown query type: %s" % qtype)
                if len(dd.get("commentPrefix") or "") > 1:
                    raise ValueError("invalid dialect comment prefix: must be length 0 or 1")
                if len(dialect["delimiter"]) != 1:
                    raise ValueError("invalid dialect delimeter: must be length 1")
                for a in dialect["annotations"]:
                    if a not in ("group", "datatype", "default"):
                        raise ValueError("unknown dialect annotation type: %s" % a)
                if dialect["dateTimeFormat"] not in ("RFC3339", "RFC3339Nano"):
                    raise ValueError("invalid dialect date time format")
            org = self.query_org(q)
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError("invalid", "failed to decode request body: %s" % e) from None
        except ApiError as e:
            raise ApiError("invalid", "failed to decode request body: %s" % e.message) from None
        if BUCKETS_QUERY.fullmatch(text):
            return self.buckets_csv(org, auth, dialect)
        if TO_CALL.search(text):
            return self.downsample(org, auth, text, dialect)
        edge = EDGE_QUERY.fullmatch(text)
        if edge:
            return self.edge(org, auth, edge, dialect)
        now = now_ns()
        try:
            fq = FluxParser(text, now).parse()
        except FluxError as e:
            raise ApiError("invalid", e.text()) from None
        with st.lock:
            b = st.bucket_by_name(org["id"], fq.bucket)
            if b is None or not allowed(auth, "read", "buckets", b["id"], b["orgID"]):
                raise ApiError("not found", 'failed to initialize execute state: could not find bucket "%s"'
                               % fq.bucket)
            if fq.distinct is not None:
                return self.distinct_csv(fq, st.points.get(b["id"], {}), dialect)
            series = {}
            for (m, tags, f, ts) in st.points.get(b["id"], {}):
                if not fq.start <= ts < fq.stop:
                    continue
                if all(column_value(m, tags, f, col) == val for col, val in fq.conds):
                    series[(m, tags, f)] = series.get((m, tags, f), 0) + 1
        nano = dialect["dateTimeFormat"] == "RFC3339Nano"
        tables = []
        if fq.grouped and not fq.group_columns:
            total = sum(series.values())
            if total:
                tables.append(([("_value", "long", False)], [[total]]))
        elif fq.grouped:
            # one table per value of the group key; a missing tag is null ("" in CSV)
            groups = {}
            for (m, tags, f), n in series.items():
                key = tuple(column_value(m, tags, f, c) or "" for c in fq.group_columns)
                groups[key] = groups.get(key, 0) + n
            cols = [(c, "string", True) for c in fq.group_columns] + [("_value", "long", False)]
            for key in sorted(groups):
                tables.append((cols, [list(key) + [groups[key]]]))
        else:
            tfmt = "dateTime:" + dialect["dateTimeFormat"]
            start, stop = rfc3339(fq.start, nano), rfc3339(fq.stop, nano)
            for (m, tags, f) in sorted(series):
                cols = [("_start", tfmt, True), ("_stop", tfmt, True), ("_field", "string", True),
                        ("_measurement", "string", True)]
                cols += [(k, "string", True) for k, _ in tags]
                cols.append(("_value", "long", False))
                tables.append((cols, [[start, stop, f, m] + [v for _, v in tags]
                                      + [series[(m, tags, f)]]]))
        return encode_csv(fq.result, tables, dialect)

    def edge(self, org, auth, m, dialect):
        """The first or last point's time of a measurement: one table, one row
        (none when the bucket holds no point of it)."""
        st = self.st
        bucket, meas = flux_unquote(m.group(1)), flux_unquote(m.group(2))
        if (m.group(3) == "last") != (m.group(4) == "true"):
            raise ApiError("invalid", "first() sorts ascending, last() descending")
        with st.lock:
            b = st.bucket_by_name(org["id"], bucket)
            if b is None or not allowed(auth, "read", "buckets", b["id"], b["orgID"]):
                raise ApiError("not found", 'failed to initialize execute state: could not find bucket "%s"'
                               % bucket)
            ts = [p[3] for p in st.points.get(b["id"], {}) if p[0] == meas]
        if not ts:
            return encode_csv("_result", [], dialect)
        t = max(ts) if m.group(3) == "last" else min(ts)
        tfmt = "dateTime:" + dialect["dateTimeFormat"]
        return encode_csv("_result", [([("_time", tfmt, False)], [[rfc3339(t, True)]])], dialect)

    def downsample(self, org, auth, text, dialect):
        """A query ending in to() (parse_downsample): recorded, answered with
        the rows written -- none here (no means computed): an empty CSV."""
        st = self.st
        try:
            rec = parse_downsample(text)
        except ValueError as e:
            raise ApiError("invalid", "compilation failed: this test server takes only the downsampling "
                           "shapes of src/sink/downsample_flux.c: %s" % e) from None
        with st.lock:
            if rec["org"] != org["id" if rec["org_key"] == "orgID" else "name"]:
                raise ApiError("not found", 'failed to initialize execute state: organization name "%s" not found'
                               % rec["org"])
            src = st.bucket_by_name(org["id"], rec["from"])
            if src is None or not allowed(auth, "read", "buckets", src["id"], src["orgID"]):
                raise ApiError("not found", 'failed to initialize execute state: could not find bucket "%s"'
                               % rec["from"])
            dst = st.bucket_by_name(org["id"], rec["to"])
            if dst is None or not allowed(auth, "write", "buckets", dst["id"], dst["orgID"]):
                raise ApiError("not found", 'failed to initialize execute state: could not find bucket "%s"'
                               % rec["to"])
            st.flux_to.append(rec)
        return encode_csv("_result", [], dialect)

    @staticmethod
    def distinct_csv(fq, points, dialect):
        """The distinct-tuples shape: one table, a row per distinct value of
        the kept columns over the points in range that pass the filters
        (a missing tag empty), sorted, then limit(n, offset)."""
        tuples = set()
        for (m, tags, f, ts) in points:
            if fq.start <= ts < fq.stop and all(column_value(m, tags, f, c) == v for c, v in fq.conds):
                tuples.add(tuple(column_value(m, tags, f, c) or "" for c in fq.distinct))
        n, offset = fq.limit
        rows = [list(t) for t in sorted(tuples)][offset:offset + n]
        cols = [(c, "string", False) for c in fq.distinct]
        return encode_csv(fq.result, [(cols, rows)] if rows else [], dialect)

    def buckets_csv(self, org, auth, dialect):
        """buckets() (Grafana's Flux health check): one table of the buckets of
        the org the token may read, as FindBuckets filtered by the authorizer;
        retentionPeriod in nanoseconds, retentionPolicy empty (2.7: not set by
        the v2 API)."""
        st = self.st
        with st.lock:
            rows = [[b["name"], b["id"], b["orgID"], "", b["every"] * 1000000000]
                    for b in sorted(st.buckets.values(), key=lambda b: b["name"])
                    if b["orgID"] == org["id"] and allowed(auth, "read", "buckets", b["id"], b["orgID"])]
        cols = [("name", "string", False), ("id", "string", False), ("organizationID", "string", False),
                ("retentionPolicy", "string", False), ("retentionPeriod", "long", False)]
        return encode_csv("_result", [(cols, rows)] if rows else [], dialect)

    # -- control
    def points_of(self, name, measurement):
        st = self.st
        with st.lock:
            b = st.bucket_by_name(st.org["id"], name)
            if b is None:
                raise ApiError("not found", 'bucket "%s" not found' % name)
            lines = []
            for (m, tags, f, ts), (typ, v) in st.points.get(b["id"], {}).items():
                if measurement is not None and m != measurement:
                    continue
                lines.append("%s %s=%s %d" % (series_key(m, tags), escape_tag(f),
                                              format_value(typ, v), ts))
        lines.sort()
        return {"count": len(lines), "lines": lines}


# ---------------------------------------------------------------- HTTP

class Server(stand_in.Server):
    request_queue_size = 128

    def __init__(self, addr, state, log):
        self.state = state
        self.api = Api(state)
        super().__init__(addr, Handler, log)


class Abort(Exception):
    """Close the connection without an answer."""


class Handler(stand_in.Handler):
    # no Server header, as InfluxDB
    timeout = 300

    # -- I/O
    def read_body(self, partial=False):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise Abort()
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise Abort() from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise Abort()
                chunks.append(chunk)
                self.rfile.readline(65537)
                if partial:
                    break
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if not cl:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError(cl)
        except ValueError:
            raise Abort() from None
        if partial:
            n //= 2
        data = self.rfile.read(n)
        if len(data) != n:
            raise Abort()
        return data

    def abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send(self, status, body=b"", ctype=None, headers=None):
        self.send_response(status)
        self.send_header("X-Influxdb-Build", "OSS")
        self.send_header("X-Influxdb-Version", VERSION)
        hdrs = dict(headers or {})
        if ctype and not any(k.lower() == "content-type" for k in hdrs):
            self.send_header("Content-Type", ctype)
        for k, v in hdrs.items():
            self.send_header(k, str(v))
        if status == 204 or status == 304 or status < 200:
            body = b""
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, indent=True, headers=None):
        if obj is None:
            self.send(status, b"", None, headers)
        else:
            self.send(status, utf8(go_json(obj, indent) + ("\n" if indent else "")), JSON_CT, headers)

    def send_error_json(self, e, headers=None):
        obj = {"code": e.code, "message": e.message}
        obj.update(e.extra)
        hdrs = {"X-Platform-Error-Code": e.code}
        hdrs.update(headers or {})
        self.send_json(e.status, obj, indent=False, headers=hdrs)
        return e.status

    # -- auth
    def resolve_auth(self):
        h = self.headers.get("Authorization")
        if h is None:
            return "none", None
        scheme, _, token = h.partition(" ")
        if scheme not in ("Token", "Bearer") or not token:
            return "bad", None
        a = self.server.state.auth_by_token(token)
        if a is None or a["status"] != "active":
            return "bad", None
        return ("admin" if a is self.server.state.admin_auth else "token"), a

    # -- dispatch
    def dispatch(self):
        st = self.server.state
        parts = urlsplit(self.path)
        path = parts.path
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        q = {}
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            q.setdefault(k, v)
        method = self.command
        try:
            if path == "/__test" or path.startswith("/__test/"):
                body = self.read_body()
                self.control(method, path, q, body)
                return
            self.api_request(st, method, path, q)
        except Abort:
            self.abort()

    def api_request(self, st, method, path, q):
        kind, auth = self.resolve_auth()
        rec = {"method": method, "path": path, "query": q, "status": None,
               "content_encoding": self.headers.get("Content-Encoding"), "body_bytes": 0,
               "lines": None, "auth": kind}
        rule = st.take_fault(method, path)
        logged = False
        try:
            if rule:
                rec["fault"] = rule.get("action") or ("big_body" if "big_body" in rule else
                                                      "status" if "status" in rule else "delay")
            if rule and rule.get("action") == "drop_mid":
                rec["body_bytes"] = len(self.read_body(partial=True))
                raise Abort()
            body = self.read_body()
            rec["body_bytes"] = len(body)
            if path == "/api/v2/query":
                # a downsampling query (to()) or another (counts, Grafana's)
                rec["to"] = TO_CALL.search(body.decode("utf-8", "replace")) is not None
            if rule and rule.get("action") == "hang":
                # in the log before the wait: a test counts what reached a silent server
                st.log_request(rec)
                logged = True
                self.hang(float(rule["delay"]) if rule.get("delay") else None)
                raise Abort()
            if rule:
                delay = float(rule.get("delay") or 0)
                if delay > 0:
                    time.sleep(delay)
                if rule.get("action") == "drop":
                    raise Abort()
                if "status" in rule or "big_body" in rule:
                    rec["status"] = self.fault_answer(rule, body)
                    return
            try:
                rec["status"] = self.api_answer(st, method, path, q, body, auth, rec)
            except (Abort, ConnectionError, TimeoutError):
                raise
            except Exception:  # a bug here: answer as InfluxDB does for plain errors
                self.server.handle_error(self.request, self.client_address)
                rec["status"] = self.send_error_json(ApiError(
                    "internal error", "An internal error has occurred - check server logs"))
        finally:
            if not logged:
                st.log_request(rec)
            fault = " fault=%s" % rec["fault"] if "fault" in rec else ""
            self.server.log.write("%s %s%s -> %s auth=%s%s" % (
                method, path, "?" + urlencode(list(q.items())) if q else "",
                rec["status"] if rec["status"] is not None else "closed", kind, fault))

    def hang(self, seconds):
        """Says nothing for `seconds` (None: for ever), until the client
        closes the connection, a reset, or the server stops."""
        st = self.server.state
        gen = st.generation
        end = None if seconds is None else time.monotonic() + seconds
        while st.generation == gen:
            left = 0.2 if end is None else min(0.2, end - time.monotonic())
            if left <= 0:
                return
            ready, _, _ = select.select([self.connection], [], [], left)
            if ready:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return  # the client gave up
                except OSError:
                    return
                time.sleep(left)  # more bytes from the client: still no answer

    def big_answer(self, rule):
        """A JSON body of rule["big_body"] bytes, never held whole in memory."""
        status = int(rule.get("status", 200))
        size = max(int(rule["big_body"]), 16)
        chunked = bool(rule.get("chunked"))
        self.send_response(status)
        self.send_header("Content-Type", JSON_CT)
        for k, v in (rule.get("headers") or {}).items():
            self.send_header(k, str(v))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        head, tail, block = b'{"message": "', b'"}', b"x" * 65536

        def write(piece):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)

        write(head)
        left = size - len(head) - len(tail)
        while left > 0:
            write(block[:min(left, len(block))])
            left -= len(block)
        write(tail)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        return status

    def fault_answer(self, rule, body):
        if "big_body" in rule:
            return self.big_answer(rule)
        status = int(rule["status"])
        headers = rule.get("headers") or {}
        if "body" in rule:
            b = rule["body"]
            if isinstance(b, (dict, list)):
                self.send(status, utf8(go_json(b)), JSON_CT, headers)
            elif b is None:
                self.send(status, b"", None, headers)
            else:
                self.send(status, utf8(str(b)), "text/plain; charset=utf-8", headers)
            return status
        if status < 300:
            self.send(status, b"", None, headers)
            return status
        code = STATUS_CODE.get(status, "internal error" if status >= 500 else "invalid")
        obj = {"code": code, "message": "injected fault (HTTP %d)" % status}
        if status == 400 and "line" in rule:
            n = int(rule["line"])
            text = ""
            try:
                raw = body
                if self.headers.get("Content-Encoding") in ("gzip", "x-gzip"):
                    raw = gunzip_limited(body, 1 << 30)
                lines = raw.decode("utf-8", "replace").split("\n")
                text = lines[n - 1] if 0 < n <= len(lines) else ""
            except GzipError:
                pass
            obj = {"code": "invalid", "message": "unable to parse '%s': %s"
                   % (text, rule.get("reason", "invalid field format")), "line": n}
        elif status == 401:
            obj["message"] = "unauthorized access"
        elif status == 413:
            obj["message"] = "unable to read data: points batch is too large"
        hdrs = {"X-Platform-Error-Code": code}
        hdrs.update(headers)
        self.send(status, utf8(go_json(obj)), JSON_CT, hdrs)
        return status

    def api_answer(self, st, method, path, q, body, auth, rec):
        api = self.server.api
        try:
            if path == "/health":
                if method not in ("GET", "HEAD"):
                    raise ApiError("method not allowed", "method not allowed")
                msg = ('{"name":"influxdb", "message":"ready for queries and writes", '
                       '"status":"pass", "checks":[], "version": "%s", "commit": "%s"}\n'
                       % (VERSION, COMMIT))
                self.send(200, msg.encode(), JSON_CT)
                return 200
            if path == "/ping":
                self.send(204)
                return 204
            if path == "/ready":
                self.send_json(200, {"status": "ready", "started": rfc3339(now_ns()), "up": "1s"})
                return 200
            if auth is None:
                raise ApiError("unauthorized", "unauthorized access")
            seg = path.split("/")
            allowed_methods = None
            if path == "/api/v2/orgs":
                allowed_methods = ("GET",)
                if method == "GET":
                    return self.reply(*api.get_orgs(q, auth))
            elif path == "/api/v2/buckets":
                allowed_methods = ("GET", "POST")
                if method == "GET":
                    return self.reply(*api.get_buckets(q, auth))
                if method == "POST":
                    return self.reply(*api.post_bucket(body, auth))
            elif len(seg) == 5 and path.startswith("/api/v2/buckets/"):
                allowed_methods = ("GET", "DELETE")
                if method == "GET":
                    return self.reply(*api.get_bucket(seg[4], auth))
                if method == "DELETE":
                    return self.reply(*api.delete_bucket(seg[4], auth))
            elif path == "/api/v2/authorizations":
                allowed_methods = ("GET", "POST")
                if method == "GET":
                    return self.reply(*api.get_auths(q, auth))
                if method == "POST":
                    return self.reply(*api.post_auth(body, auth))
            elif len(seg) == 5 and path.startswith("/api/v2/authorizations/"):
                allowed_methods = ("GET", "PATCH", "DELETE")
                if method == "GET":
                    return self.reply(*api.get_auth(seg[4], auth))
                if method == "PATCH":
                    return self.reply(*api.patch_auth(seg[4], body, auth))
                if method == "DELETE":
                    return self.reply(*api.delete_auth(seg[4], auth))
            elif path == "/api/v2/dbrps":
                allowed_methods = ("GET", "POST")
                if method == "GET":
                    return self.reply(*api.get_dbrps(q, auth))
                if method == "POST":
                    return self.reply(*api.post_dbrp(body, auth))
            elif path == "/api/v2/write":
                allowed_methods = ("POST",)
                if method == "POST":
                    enc = (self.headers.get("Content-Encoding") or "").strip().lower()
                    if enc not in ("gzip", "x-gzip"):
                        rec["lines"] = count_lines(body.decode("utf-8", "surrogateescape"))
                    status, _ = api.write(q, body, enc, auth, rec)
                    self.send(status)
                    return status
            elif path == "/query":
                allowed_methods = ("GET", "POST")
                if method in allowed_methods:
                    return self.reply(*api.influxql(q, body, self.headers.get("Content-Type"), auth))
            elif path == "/api/v2/query":
                allowed_methods = ("POST",)
                if method == "POST":
                    csv = api.query(q, body, self.headers.get("Content-Type"), auth)
                    self.send(200, utf8(csv), CSV_CT)
                    return 200
            if allowed_methods is None:
                raise ApiError("not found", "path not found")
            raise ApiError("method not allowed", "method not allowed")
        except ApiError as e:
            return self.send_error_json(e)

    def reply(self, status, obj):
        self.send_json(status, obj)
        return status

    # -- control API
    def control(self, method, path, q, body):
        st = self.server.state
        api = self.server.api
        try:
            try:
                data = json.loads(body.decode("utf-8")) if body.strip() else None
            except (ValueError, UnicodeDecodeError) as e:
                raise ApiError("invalid", "bad JSON: %s" % e) from None
            if path == "/__test/faults" and method == "POST":
                rules = data if isinstance(data, list) else [data]
                for r in rules:
                    if not isinstance(r, dict):
                        raise ApiError("invalid", "a rule is a JSON object")
                    if r.get("action") not in (None, "drop", "drop_mid", "hang"):
                        raise ApiError("invalid", "unknown action %s" % r.get("action"))
                    if "status" in r and not isinstance(r["status"], int):
                        raise ApiError("invalid", "status must be an integer")
                    if not isinstance(r.get("times", 1), int):
                        raise ApiError("invalid", "times must be an integer")
                    if not isinstance(r.get("after", 0), int):
                        raise ApiError("invalid", "after must be an integer")
                    if not isinstance(r.get("headers") or {}, dict):
                        raise ApiError("invalid", "headers must be an object")
                st.add_faults(rules)
                return self.send_json(200, {"queued": len(rules)})
            if path == "/__test/faults" and method == "GET":
                with st.lock:
                    return self.send_json(200, list(st.faults))
            if path == "/__test/faults" and method == "DELETE":
                with st.lock:
                    st.faults = []
                return self.send_json(200, {"queued": 0})
            if path == "/__test/reset" and method == "POST":
                st.reset()
                return self.send_json(200, {"reset": True})
            if path == "/__test/requests" and method == "GET":
                with st.lock:
                    return self.send_json(200, list(st.requests))
            if path == "/__test/requests" and method == "DELETE":
                with st.lock:
                    st.requests = []
                return self.send_json(200, {"cleared": True})
            if path == "/__test/points" and method == "GET":
                if not q.get("bucket"):
                    raise ApiError("invalid", "bucket is required")
                return self.send_json(200, api.points_of(q["bucket"], q.get("measurement")))
            if path == "/__test/flux" and method == "GET":
                with st.lock:
                    return self.send_json(200, list(st.flux_to))
            if path == "/__test/buckets" and method == "GET":
                with st.lock:
                    names = sorted(b["name"] for b in st.buckets.values() if b["type"] == "user")
                return self.send_json(200, names)
            if path == "/__test/buckets" and method == "POST":
                names = data.get("names") if isinstance(data, dict) else None
                every = data.get("retentionSeconds", 0) if isinstance(data, dict) else 0
                if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                    raise ApiError("invalid", 'expected {"names": [non-empty strings]}')
                created = 0
                with st.lock:
                    for n in names:
                        if st.bucket_by_name(st.org["id"], n) is None:
                            b = st.make_bucket(n, every, normalised_shard_duration(0, every))
                            st.buckets[b["id"]] = b
                            created += 1
                return self.send_json(200, {"created": created})
            raise ApiError("not found", "unknown control endpoint %s %s" % (method, path))
        except ApiError as e:
            self.send_error_json(e)


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="InfluxDB 2 API stand-in for tests (see the module doc).")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0: a free one")
    ap.add_argument("--port-file", help="where to write the port once listening")
    ap.add_argument("--token", required=True, help="the admin (operator) token")
    ap.add_argument("--org", required=True, help="organization name")
    ap.add_argument("--org-id", help="organization id, 16 hex digits (default: random)")
    ap.add_argument("--user", default="admin", help="name of the admin user")
    ap.add_argument("--log", help="request log file (never holds tokens)")
    ap.add_argument("--hash-tokens", action="store_true",
                    help='listed authorizations show "token": "" (token hashing)')
    ap.add_argument("--max-body", type=int, default=25 * 1024 * 1024,
                    help="largest write body after decompression, bytes (default 25 MiB)")
    ap.add_argument("--auth-page-size", type=int, default=DEFAULT_PAGE_SIZE,
                    help="authorizations per page without limit= (0: all, as InfluxDB)")
    args = ap.parse_args(argv)
    org_id = None
    if args.org_id:
        if not is_id(args.org_id):
            ap.error("--org-id must be 16 hex digits, not zero")
        org_id = parse_id(args.org_id)
    if not args.token:
        ap.error("--token must not be empty")

    log = stand_in.Log(args.log, lambda: rfc3339(now_ns()))
    state = State(args.org, org_id, args.token, args.user, args.hash_tokens, args.max_body,
                  args.auth_page_size)
    server = Server(("127.0.0.1", args.port), state, log)
    return stand_in.serve(server, args.port_file, lambda port: "listening on 127.0.0.1:%d, org %s (%s)" % (
        port, state.org["name"], state.org["id"]))

if __name__ == "__main__":
    sys.exit(main())
