#!/usr/bin/env python3
"""Render the Grafana dashboard templates of dashboards/ and check them against
what tsv_parser really writes.

Python 3 standard library and jinja2 only.

    render.py facts [-o FILE] [--tsv-parser PATH]
        Runs tsv_parser on a copy of examples/data twice: once with a file
        sink (-o out.lp: the `electrical` points) and once against
        tests/servers/influx2.py, the InfluxDB 2 stand-in (the run summaries
        of the meta bucket, and the buckets it made). Prints, or writes to
        FILE, those lines as JSON: the "facts" the checks compare with.

    render.py check TEMPLATE [--var NAME=VALUE]... [--vars FILE] [--facts FILE]
                    [--kind campaign|monitoring] [--expect-datasource-type T]
                    [--require-data] [--engine jinja|ansible] [-o FILE]
        TEMPLATE: campaign, parser-monitoring, or a path to a .json.j2 file.
        Renders it like Ansible's template lookup (undefined variables are
        errors, trim_blocks), or through ansible-playbook itself with
        --engine ansible (both renderings must then agree), and checks:
          * the result is JSON; uid, title, tags, schemaVersion 39;
          * every panel, target and template variable names the datasource
            by {"type": T, "uid": datasource_uid}; no datasource id anywhere;
          * every Flux query: string literals decode (Flux escapes) back to
            the names given, and hold nothing Grafana would interpolate
            ($, [[, word.word); panel queries start with from(bucket:) |>
            range(v.timeRangeStart, v.timeRangeStop); Grafana variables used
            are the dashboard's own, in regexes as ${name:regex}, each one
            filtering the tag its own query lists;
          * every measurement, field, tag, tag value and column a query uses
            exists in the facts (tsv_parser's real output), the queries are
            run over those points (filter, group, keep, pivot, ... simulated)
            and for the electrical data no curve is split or summed by the
            per-file file_name tag; with --require-data every panel and
            variable query must select points;
          * resolution (campaign): a panel query may start with statements
            (name = expression) and read from(bucket: <name>); the name is
            evaluated for time ranges of 1 day, 2 days, 30 days, 62 days,
            1 year, 2 years and 5 years and must give the raw bucket up to
            2 days, <bucket>_1h up to 62 days, _1d up to 731 days, _1w
            beyond; when --var downsample_levels (default 1h,1d,1w; a
            bargauge no coarser than _1h) lacks that level, the finest one
            coarser than it, else the coarsest one, else raw, never a
            missing level; every literal decodes back to
            the bucket's name plus the suffix; a timeseries or bargauge
            panel reading one fixed bucket is refused.
        Without --facts, the facts are collected first (as `facts` does).
        -o FILE writes the rendered dashboard JSON.

Variables come from --vars (a JSON object; '-' for standard input) and then
--var NAME=VALUE (values are strings). Exit status: 0 all checks passed,
1 a check failed (one line per problem on standard error), 2 usage.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GRAFANA_BUILTINS = {"__interval", "__interval_ms", "__range", "__range_s", "__range_ms", "__rate_interval",
                    "__from", "__to", "__timezone", "__dashboard", "__org", "__user", "__all"}
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MONITORING_UID = "powerview_parser_monitoring"
MONITORING_TITLE = "PowerView — parser monitoring"


class Failure(Exception):
    pass


# --------------------------------------------------------------------------
# line protocol

def _lp_read(line, i, stops, escapable):
    out = []
    n = len(line)
    while i < n and line[i] not in stops:
        c = line[i]
        if c == "\\" and i + 1 < n and line[i + 1] in escapable:
            out.append(line[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out), i


def parse_lp(line):
    """One line of line protocol -> list of row dicts (one per field)."""
    meas, i = _lp_read(line, 0, ", ", ", ")
    tags = {}
    while i < len(line) and line[i] == ",":
        k, i = _lp_read(line, i + 1, "=", ",= ")
        v, i = _lp_read(line, i + 1, ", ", ",= ")
        tags[k] = v
    if i >= len(line) or line[i] != " ":
        raise ValueError("no field set")
    i += 1
    fields = {}
    while True:
        k, i = _lp_read(line, i, "=", ",= ")
        i += 1
        if i < len(line) and line[i] == '"':
            j, buf = i + 1, []
            while line[j] != '"':
                if line[j] == "\\" and line[j + 1] in '"\\':
                    j += 1
                buf.append(line[j])
                j += 1
            val, i = "".join(buf), j + 1
        else:
            m = re.match(r"[^, ]+", line[i:])
            raw = m.group(0)
            i += len(raw)
            if raw[-1] in "iu":
                val = int(raw[:-1])
            elif raw in ("t", "T", "true", "True", "TRUE"):
                val = True
            elif raw in ("f", "F", "false", "False", "FALSE"):
                val = False
            else:
                val = float(raw)
        fields[k] = val
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        break
    ts = int(line[i:].strip()) if line[i:].strip() else 0
    rows = []
    for k, v in fields.items():
        row = dict(tags)
        row.update({"_measurement": meas, "_field": k, "_value": v, "_time": ts})
        rows.append(row)
    return rows


class Dataset:
    """Points as Flux rows, with the names they carry."""

    def __init__(self, label, lines):
        self.label = label
        self.rows = []
        for line in lines:
            if line.strip() and not line.startswith("#"):
                self.rows.extend(parse_lp(line))
        self.rows.sort(key=lambda r: (r["_measurement"], sorted((k, v) for k, v in r.items() if k[0] != "_"),
                                      r["_field"], r["_time"]))
        self.measurements = sorted({r["_measurement"] for r in self.rows})
        self.fields = sorted({r["_field"] for r in self.rows})
        self.tags = sorted({k for r in self.rows for k in r if not k.startswith("_")})
        self.values = {}
        for r in self.rows:
            for k, v in r.items():
                if not k.startswith("_") or k in ("_measurement", "_field"):
                    self.values.setdefault(k, set()).add(v)
        self.columns = sorted({k for r in self.rows for k in r} | {"_start", "_stop"})


# --------------------------------------------------------------------------
# facts: what tsv_parser really writes

def _clean_env(tmp):
    # no setting of the caller's may change what the examples give; the
    # valgrind wrapper of the test suite finds the real binary in TSV_PARSER_REAL
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TSV_", "INFLUXDB_", "POWERVIEW_")) or k in ("TSV_PARSER", "TSV_PARSER_REAL")}
    env.update({"TSV_MIN_AGE": "0", "TSV_REPORT_DIR": os.path.join(tmp, "reports"), "TZ": "UTC"})
    return env


def find_tsv_parser(path):
    path = path or os.environ.get("TSV_PARSER") or os.path.join(ROOT, "build", "tsv_parser")
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    build = os.path.join(ROOT, "build")
    if os.path.abspath(path) != os.path.join(build, "tsv_parser"):
        raise Failure("tsv_parser not found or not executable: %s" % path)
    sys.stderr.write("render.py: %s missing: building it with cmake\n" % path)
    for cmd in (["cmake", "-S", ROOT, "-B", build], ["cmake", "--build", build, "-j2", "--target", "tsv_parser"]):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise Failure("cannot build tsv_parser (%s):\n%s" % (" ".join(cmd), p.stdout[-3000:]))
    return path


def _run_parser(tsv_parser, args, env, cwd):
    p = subprocess.run([tsv_parser] + args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    # 65: some example files are meant to fail (they go to error/)
    if p.returncode not in (0, 65):
        raise Failure("tsv_parser %s exited %d:\n%s" % (" ".join(args), p.returncode, p.stderr[-3000:]))
    return p


def _get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def collect_facts(tsv_parser):
    tsv_parser = find_tsv_parser(tsv_parser)
    examples = os.path.join(ROOT, "examples", "data")
    tmp = tempfile.mkdtemp(prefix="pv-dashboards-")
    server = None
    try:
        config = os.path.join(tmp, "powerview.yaml")
        open(config, "w").close()  # never /etc/powerview/powerview.yaml
        # 1. file sink: the electrical points
        shutil.copytree(examples, os.path.join(tmp, "data"))
        env = _clean_env(tmp)
        out = os.path.join(tmp, "out.lp")
        _run_parser(tsv_parser, ["-d", os.path.join(tmp, "data"), "-o", out, "--config", config], env, tmp)
        with open(out, encoding="utf-8") as f:
            electrical = f.read().splitlines()
        if not electrical:
            raise Failure("tsv_parser wrote no point for examples/data")
        # 2. InfluxDB 2 stand-in: the meta bucket
        portfile = os.path.join(tmp, "port")
        token = "render-py-%d" % os.getpid()
        server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "servers", "influx2.py"),
                                   "--port", "0", "--port-file", portfile, "--token", token, "--org", "powerview",
                                   "--log", os.path.join(tmp, "influx2.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not (os.path.exists(portfile) and os.path.getsize(portfile) > 0):
            if server.poll() is not None or time.monotonic() > deadline:
                raise Failure("tests/servers/influx2.py did not start")
            time.sleep(0.05)
        url = "http://127.0.0.1:%s" % open(portfile).read().strip()
        shutil.copytree(examples, os.path.join(tmp, "data2"))
        env = _clean_env(tmp)
        # a spool serves one data folder: data/ has the default one (tmp/spool)
        env.update({"INFLUXDB_HOST": url, "INFLUXDB_ORG": "powerview", "INFLUXDB_ADMIN_TOKEN": token,
                    "TSV_SPOOL_DIR": os.path.join(tmp, "spool2")})
        _run_parser(tsv_parser, ["-d", os.path.join(tmp, "data2"), "--config", config], env, tmp)
        buckets = {}
        for name in _get_json(url + "/__test/buckets"):
            buckets[name] = _get_json(url + "/__test/points?bucket=" + urllib.request.quote(name))["lines"]
        if not buckets.get("powerview_meta"):
            raise Failure("tsv_parser wrote no run summary to powerview_meta")
        return {"electrical": electrical, "buckets": buckets, "meta_bucket": "powerview_meta"}
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# rendering

def render_jinja(path, variables):
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.dirname(path)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True,
                             autoescape=False)
    try:
        return env.get_template(os.path.basename(path)).render(**variables)
    except jinja2.TemplateError as e:
        raise Failure("cannot render %s: %s" % (path, e))


PLAYBOOK = """- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Render the dashboard template
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', render_py_template) }}"
        dest: "{{ render_py_output }}"
        mode: "0644"
"""


def render_ansible(path, variables):
    if shutil.which("ansible-playbook") is None:
        raise Failure("ansible-playbook is not installed (--engine ansible)")
    tmp = tempfile.mkdtemp(prefix="pv-dashboards-ansible-")
    try:
        out = os.path.join(tmp, "dashboard.json")
        with open(os.path.join(tmp, "play.yml"), "w") as f:
            f.write(PLAYBOOK)
        v = dict(variables)
        v.update({"render_py_template": os.path.abspath(path), "render_py_output": out})
        with open(os.path.join(tmp, "vars.json"), "w") as f:
            json.dump(v, f)
        env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=tmp,
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "tmp"), ANSIBLE_RETRY_FILES_ENABLED="False",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
        p = subprocess.run(["ansible-playbook", "-i", "localhost,", os.path.join(tmp, "play.yml"),
                            "-e", "@" + os.path.join(tmp, "vars.json")],
                           env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        if p.returncode != 0:
            raise Failure("ansible-playbook could not render %s:\n%s" % (path, p.stdout[-3000:]))
        with open(out, encoding="utf-8") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Flux: tokens, string literals, queries

def flux_decode_string(raw):
    """The value of a Flux string literal (raw: the text between the quotes),
    as libflux's parser/strconv.rs reads it; '${' is an interpolation."""
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            if i + 1 >= len(raw):
                raise Failure("invalid escape sequence at the end of %r" % raw)
            e = raw[i + 1]
            simple = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", '"': b'"', "$": b"$"}
            if e in simple:
                out += simple[e]
                i += 2
            elif e == "x":
                h = raw[i + 2:i + 4]
                if not re.fullmatch(r"[0-9A-Fa-f]{2}", h):
                    raise Failure("invalid \\x escape in %r" % raw)
                out.append(int(h, 16))
                i += 4
            else:
                raise Failure("invalid escape character %r in %r" % (e, raw))
        elif c == "$" and raw[i + 1:i + 2] == "{":
            raise Failure("string interpolation ${...} in the Flux literal %r" % raw)
        else:
            out += c.encode("utf-8")
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Failure("Flux literal %r is not UTF-8 once decoded: %s" % (raw, e))


class Tok:
    __slots__ = ("kind", "text", "value")

    def __init__(self, kind, text, value=None):
        self.kind, self.text, self.value = kind, text, value

    def __repr__(self):
        return "%s:%s" % (self.kind, self.text)


OPS = ["|>", "=>", "==", "!=", "=~", "!~", "<=", ">=", "<-"]


def flux_tokens(q):
    toks, i, n = [], 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif q.startswith("//", i):
            j = q.find("\n", i)
            i = n if j < 0 else j
        elif c == '"':
            j = i + 1
            while j < n and q[j] != '"':
                j += 2 if q[j] == "\\" else 1
            if j >= n:
                raise Failure("unterminated string literal: %s" % q[i:i + 60])
            raw = q[i + 1:j]
            toks.append(Tok("str", raw, flux_decode_string(raw)))
            i = j + 1
        elif c == "/" and toks and toks[-1].text in ("=~", "!~"):
            j = i + 1
            while j < n and q[j] != "/":
                if q[j] == "\n":
                    raise Failure("unterminated regex literal: %s" % q[i:i + 60])
                j += 2 if q[j] == "\\" else 1
            if j >= n:
                raise Failure("unterminated regex literal: %s" % q[i:i + 60])
            toks.append(Tok("regex", q[i + 1:j]))
            i = j + 1
        elif c == "$":
            m = re.match(r"\$\{[^}]*\}|\$\w+|\$", q[i:])
            toks.append(Tok("gvar", m.group(0)))
            i += len(m.group(0))
        elif c.isdigit():
            m = re.match(r"\d+(\.\d*)?(e[+-]?\d+)?([a-zµ]+\d*)*", q[i:])
            toks.append(Tok("num", m.group(0)))
            i += len(m.group(0))
        elif c.isalpha() or c == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", q[i:])
            toks.append(Tok("id", m.group(0)))
            i += len(m.group(0))
        else:
            for op in OPS:
                if q.startswith(op, i):
                    toks.append(Tok("op", op))
                    i += len(op)
                    break
            else:
                if c not in "()[]{},:.+-*/%<>=!|^?":
                    raise Failure("unexpected character %r in the Flux query, at: %s" % (c, q[max(0, i - 30):i + 30]))
                toks.append(Tok("op", c))
                i += 1
    depth = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for t in toks:
        if t.kind == "op" and t.text in "([{":
            depth.append(t.text)
        elif t.kind == "op" and t.text in ")]}":
            if not depth or depth.pop() != pairs[t.text]:
                raise Failure("unbalanced %r in Flux query" % t.text)
    if depth:
        raise Failure("unclosed %r in Flux query" % depth[-1])
    return toks


GVAR_RE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def gvars_in(text):
    """(name, format) of the Grafana variables in text."""
    return [(m.group(1) or m.group(3) or m.group(4), m.group(2)) for m in GVAR_RE.finditer(text)]


def split_top(toks, sep):
    """Split a token list on the operator sep at depth 0."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        if depth == 0 and t.kind == "op" and t.text == sep:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


def parse_call(toks):
    """NAME[.NAME](arg: tokens, ...) -> (name, {arg: tokens})."""
    i = 0
    name = []
    while i < len(toks) and (toks[i].kind == "id" or toks[i].text == "."):
        name.append(toks[i].text)
        i += 1
    if not name or i >= len(toks) or toks[i].text != "(" or toks[-1].text != ")":
        raise Failure("not a function call: %s" % " ".join(t.text for t in toks)[:120])
    args = {}
    for part in split_top(toks[i + 1:-1], ","):
        if not part:
            continue  # trailing comma
        if len(part) < 3 or part[0].kind != "id" or part[1].text != ":":
            raise Failure("bad argument in %s(): %s" % ("".join(name), " ".join(t.text for t in part)))
        args[part[0].text] = part[2:]
    return "".join(name), args


def str_list(toks, what):
    if not toks or toks[0].text != "[" or toks[-1].text != "]":
        raise Failure("%s: expected a list of strings" % what)
    items = [p for p in split_top(toks[1:-1], ",") if p]
    out = []
    for p in items:
        if len(p) != 1 or p[0].kind != "str":
            raise Failure("%s: expected a list of strings" % what)
        out.append(p[0].value)
    return out


def one_str(toks, what):
    if len(toks) != 1 or toks[0].kind != "str":
        raise Failure("%s: expected a string literal" % what)
    return toks[0]


class Predicate:
    """A Flux predicate (r) => ... of comparisons joined by and/or/not."""

    def __init__(self, toks, what):
        self.what = what
        if [t.text for t in toks[:4]] != ["(", "r", ")", "=>"]:
            raise Failure("%s: expected a function (r) => ..." % what)
        self.toks = toks[4:]
        self.pos = 0
        self.comparisons = []  # (column, op, Tok)
        self.tree = self._or()
        if self.pos != len(self.toks):
            raise Failure("%s: cannot read the predicate after %r" % (what, self.toks[self.pos].text))

    def _peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _take(self):
        t = self._peek()
        if t is None:
            raise Failure("%s: predicate ends too soon" % self.what)
        self.pos += 1
        return t

    def _or(self):
        node = self._and()
        while self._peek() is not None and self._peek().text == "or":
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self._peek() is not None and self._peek().text == "and":
            self._take()
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self._peek() is not None and self._peek().text == "not":
            self._take()
            return ("not", self._not())
        if self._peek() is not None and self._peek().text == "(":
            self._take()
            node = self._or()
            if self._take().text != ")":
                raise Failure("%s: missing ')'" % self.what)
            return node
        if self._peek() is not None and self._peek().text in ("true", "false"):
            return ("const", self._take().text == "true")
        return self._cmp()

    def _column(self):
        t = self._take()
        if t.text != "r":
            raise Failure("%s: comparisons must start with r.<column>, not %r" % (self.what, t.text))
        t = self._take()
        if t.text == ".":
            return self._take().text
        if t.text == "[":
            col = one_str([self._take()], self.what).value
            if self._take().text != "]":
                raise Failure("%s: missing ']'" % self.what)
            return col
        raise Failure("%s: expected r.<column> or r[\"<column>\"]" % self.what)

    def _cmp(self):
        col = self._column()
        op = self._take()
        if op.text not in ("==", "!=", "=~", "!~"):
            raise Failure("%s: unsupported operator %r" % (self.what, op.text))
        rhs = self._take()
        if op.text in ("==", "!=") and rhs.kind != "str":
            raise Failure("%s: r.%s %s must compare with a string literal" % (self.what, col, op.text))
        if op.text in ("=~", "!~") and rhs.kind != "regex":
            raise Failure("%s: r.%s %s must match a regex literal" % (self.what, col, op.text))
        self.comparisons.append((col, op.text, rhs))
        if rhs.kind == "regex":
            # Grafana variables at "All" (allValue .*)
            pattern = GVAR_RE.sub(".*", rhs.text).replace("\\/", "/")
            try:
                return ("re", col, op.text == "=~", re.compile(pattern))
            except re.error as e:
                raise Failure("%s: bad regex /%s/: %s" % (self.what, rhs.text, e))
        return ("eq", col, op.text == "==", rhs.value)

    def columns(self):
        return {c for c, _, _ in self.comparisons}

    def __call__(self, row, node=None):
        node = self.tree if node is None else node
        k = node[0]
        if k == "or":
            return self(row, node[1]) or self(row, node[2])
        if k == "and":
            return self(row, node[1]) and self(row, node[2])
        if k == "not":
            return not self(row, node[1])
        if k == "const":
            return node[1]
        v = row.get(node[1])
        if v is None:
            return False  # null never compares
        if k == "eq":
            return (v == node[3]) == node[2]
        return (node[3].search(str(v)) is not None) == node[2]


AGGREGATES = {"aggregateWindow", "integral", "mean", "sum", "count", "median", "spread", "stddev",
              "cumulativeSum", "derivative", "difference", "reduce", "histogram", "distinct"}


DURATION_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
               "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}


class FluxTime(int):
    """A time value (nanoseconds since the epoch): Flux subtracts times only as int(v: t)."""


class Expr:
    """A Flux expression of the statements before a panel's pipeline (name = expression):
    if/then/else, or, and, not, comparisons, + - * /, int(v: ...), literals, names and
    v.timeRangeStart / v.timeRangeStop. parse() reads one from toks[pos:] and returns the
    position after it; evaluate() computes it with the given names."""

    BINARY = [("or",), ("and",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]

    def __init__(self, toks, pos, what):
        self.toks, self.pos, self.what = toks, pos, what
        self.tree = self._expr()
        self.end = self.pos

    def _peek(self, k=0):
        return self.toks[self.pos + k] if self.pos + k < len(self.toks) else None

    def _take(self, text=None):
        t = self._peek()
        if t is None or (text is not None and t.text != text):
            raise Failure("%s: expected %r, found %r" % (self.what, text or "an expression", t and t.text))
        self.pos += 1
        return t

    def _expr(self):
        if self._peek() is not None and self._peek().kind == "id" and self._peek().text == "if":
            self._take()
            cond = self._expr()
            self._take("then")
            a = self._expr()
            self._take("else")
            return ("if", cond, a, self._expr())
        return self._binary(0)

    def _binary(self, level):
        if level == len(self.BINARY):
            return self._unary()
        node = self._binary(level + 1)
        while self._peek() is not None and self._peek().kind in ("op", "id") and self._peek().text in self.BINARY[level]:
            op = self._take().text
            node = (op, node, self._binary(level + 1))
        return node

    def _unary(self):
        t = self._peek()
        if t is not None and t.text == "not":
            self._take()
            return ("not", self._unary())
        if t is not None and t.text == "(":
            self._take()
            node = self._expr()
            self._take(")")
            return node
        t = self._take()
        if t.kind == "str":
            return ("const", t.value)
        if t.kind == "num":
            m = re.fullmatch(r"(\d+)([a-zµ]+)", t.text)
            if re.fullmatch(r"\d+", t.text):
                return ("const", int(t.text))
            if m and m.group(2) in DURATION_NS:
                return ("const", ("duration", int(m.group(1)) * DURATION_NS[m.group(2)]))
            raise Failure("%s: the literal %s is not an integer or a fixed duration" % (self.what, t.text))
        if t.kind == "id" and t.text in ("true", "false"):
            return ("const", t.text == "true")
        if t.kind == "id" and t.text == "v" and self._peek() is not None and self._peek().text == ".":
            self._take()
            name = self._take().text
            if name not in ("timeRangeStart", "timeRangeStop"):
                raise Failure("%s: v.%s is not a time bound" % (self.what, name))
            return ("name", "v." + name)
        if t.kind == "id" and t.text == "int" and self._peek() is not None and self._peek().text == "(":
            self._take("(")
            if self._take().text != "v" or self._take().text != ":":
                raise Failure("%s: int() takes v:" % self.what)
            arg = self._expr()
            self._take(")")
            return ("int", arg)
        if t.kind == "id":
            return ("name", t.text)
        raise Failure("%s: unexpected %r in an expression" % (self.what, t.text))

    def evaluate(self, names, node=None):
        node = self.tree if node is None else node
        k = node[0]
        if k == "const":
            return node[1]
        if k == "name":
            if node[1] not in names:
                raise Failure("%s: %s is not defined" % (self.what, node[1]))
            return names[node[1]]
        if k == "int":
            v = self.evaluate(names, node[1])
            if isinstance(v, tuple) and v[0] == "duration":
                return v[1]
            if isinstance(v, bool) or not isinstance(v, int):
                raise Failure("%s: int() of %r" % (self.what, v))
            return int(v)
        if k == "if":
            c = self.evaluate(names, node[1])
            if not isinstance(c, bool):
                raise Failure("%s: the condition of if is not a boolean" % self.what)
            return self.evaluate(names, node[2] if c else node[3])
        if k == "not":
            return not self.evaluate(names, node[1])
        a, b = self.evaluate(names, node[1]), self.evaluate(names, node[2])
        if k in ("and", "or"):
            return (a and b) if k == "and" else (a or b)
        if isinstance(a, FluxTime) or isinstance(b, FluxTime) or isinstance(a, tuple) or isinstance(b, tuple):
            raise Failure("%s: %s on a time or a duration: convert it with int(v: ...)" % (self.what, k))
        if type(a) is not type(b):
            raise Failure("%s: %s between %s and %s" % (self.what, k, type(a).__name__, type(b).__name__))
        return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b,
                ">": lambda: a > b, ">=": lambda: a >= b, "+": lambda: a + b, "-": lambda: a - b,
                "*": lambda: a * b, "/": lambda: a // b, "%": lambda: a % b}[k]()


class Query:
    """One Flux query of a dashboard, parsed and run over a Dataset."""

    def __init__(self, where, text):
        self.where = where
        self.text = text
        self.toks = flux_tokens(text)
        self.imports = []
        toks = list(self.toks)
        while toks and toks[0].text == "import":
            self.imports.append(one_str(toks[1:2], where + ": import").value)
            toks = toks[2:]
        # statements before the pipeline: name = expression
        self.assignments = {}
        while len(toks) > 2 and toks[0].kind == "id" and toks[1].text == "=":
            e = Expr(toks, 2, "%s: %s" % (where, toks[0].text))
            if toks[0].text in self.assignments:
                raise Failure("%s: %s assigned twice" % (where, toks[0].text))
            self.assignments[toks[0].text] = e
            toks = toks[e.end:]
        self.stages = [parse_call(part) for part in split_top(toks, "|>")]
        self.strings = [t for t in self.toks if t.kind == "str"]

    def evaluate(self, name, span_ns):
        """The value of an assigned name for a time range of span_ns nanoseconds."""
        names = {"v.timeRangeStart": FluxTime(1700000000 * 10**9),
                 "v.timeRangeStop": FluxTime(1700000000 * 10**9 + span_ns)}
        for n, e in self.assignments.items():
            names[n] = e.evaluate(names)
            if n == name:
                return names[n]
        raise Failure("%s: %s is not assigned" % (self.where, name))

    def fail(self, msg):
        raise Failure("%s: %s" % (self.where, msg))


# --------------------------------------------------------------------------
# checks

# The resolution rule (issue 14): a range needs the raw bucket up to 2 days,
# <bucket>_1h up to 2 months (62 days), _1d up to 2 years (731 days), _1w
# beyond; it reads the finest level the dashboard has (and the panel may read)
# that is not finer than that need, else the coarsest it has, else raw.
DAY_NS = 86400 * 10**9
RESOLUTION_LEVELS = {"1h": 2 * DAY_NS, "1d": 62 * DAY_NS, "1w": 731 * DAY_NS}
RESOLUTION_CHECKS = [("1 day", DAY_NS), ("2 days", 2 * DAY_NS), ("30 days", 30 * DAY_NS), ("62 days", 62 * DAY_NS),
                     ("1 year", 365 * DAY_NS), ("2 years", 731 * DAY_NS), ("5 years", 1826 * DAY_NS)]
# the levels each panel type may read: curves all, the energy (bargauge) no coarser than 1h
RESOLUTION_PANELS = {"timeseries": ("1h", "1d", "1w"), "bargauge": ("1h",)}


def downsample_levels(value):
    if value is None:
        return ["1h", "1d", "1w"]
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [str(i).strip() for i in items if str(i).strip()]
    bad = [i for i in items if i not in RESOLUTION_LEVELS]
    if bad:
        raise Failure("downsample_levels: unknown level(s) %s (1h, 1d, 1w)" % ", ".join(bad))
    return [lv for lv in RESOLUTION_LEVELS if lv in items]


class Checker:
    def __init__(self, kind, variables, facts, expect_type, require_data):
        self.kind = kind
        self.vars = variables
        self.errors = []
        self.notes = []
        self.require_data = require_data
        self.ds_uid = str(variables.get("datasource_uid", ""))
        self.ds_type = expect_type or str(variables.get("datasource_type") or variables.get("grafana_datasource_type")
                                          or "influxdb")
        if kind == "campaign":
            self.company = str(variables.get("company_name", ""))
            self.campaign = str(variables.get("campaign_name", ""))
            self.bucket = str(variables.get("bucket") or self.company)
            self.measurement = str(variables.get("measurement") or "electrical")
            self.data = Dataset("tsv_parser -o out.lp (examples/data)", facts["electrical"])
            self.inputs = {("campaign", self.campaign), ("_measurement", self.measurement)}
            # queries run over the bucket's own points when tsv_parser made that bucket
            if self.bucket in facts["buckets"] and self.bucket != facts["meta_bucket"]:
                self.rows = Dataset("bucket " + self.bucket, facts["buckets"][self.bucket]).rows
                self.rows_label = "bucket %s, as tsv_parser wrote it to the InfluxDB 2 stand-in" % self.bucket
            else:
                self.rows = self.data.rows
                self.rows_label = self.data.label
        else:
            self.bucket = str(variables.get("meta_bucket") or "powerview_meta")
            self.data = Dataset("bucket powerview_meta (tsv_parser run summaries)",
                                facts["buckets"][facts["meta_bucket"]])
            self.inputs = set()
            self.rows = self.data.rows
            self.rows_label = self.data.label
        self.real_buckets = sorted(facts["buckets"])
        if kind == "monitoring":
            # the meta points are always there: a query that selects none is wrong
            self.require_data = True
        self.gvars = {}
        self.levels = downsample_levels(variables.get("downsample_levels")) if kind == "campaign" else []

    def err(self, msg):
        self.errors.append(msg)

    # -- JSON structure
    def check_structure(self, d):
        if not isinstance(d, dict):
            return self.err("the dashboard is not a JSON object")
        if d.get("id") is not None:
            self.err("dashboard id is %r: it must be null or absent (Grafana assigns it)" % d.get("id"))
        want_uid = str(self.vars.get("dashboard_uid") or (MONITORING_UID if self.kind == "monitoring" else ""))
        if d.get("uid") != want_uid:
            self.err("dashboard uid is %r, expected %r" % (d.get("uid"), want_uid))
        if not isinstance(d.get("uid"), str) or not UID_RE.match(d.get("uid")):
            self.err("dashboard uid %r is not 1 to 40 characters of [A-Za-z0-9_-]" % d.get("uid"))
        if self.kind == "campaign":
            want_title = "%s — %s" % (self.company, self.campaign)
            if d.get("tags") != ["powerview", self.company]:
                self.err("dashboard tags are %r, expected %r" % (d.get("tags"), ["powerview", self.company]))
        else:
            want_title = str(self.vars.get("dashboard_title") or MONITORING_TITLE)
        if d.get("title") != want_title:
            self.err("dashboard title is %r, expected %r" % (d.get("title"), want_title))
        if d.get("schemaVersion") != 39:
            self.err("schemaVersion is %r, expected 39" % d.get("schemaVersion"))
        self.check_no_ids(d, "dashboard")
        panels = d.get("panels")
        if not isinstance(panels, list) or not panels:
            return self.err("the dashboard has no panels")
        ids = [p.get("id") for p in panels]
        if len(set(ids)) != len(ids) or not all(isinstance(i, int) for i in ids):
            self.err("panel ids are not unique integers: %r" % ids)
        for p in panels:
            self.check_panel(p)
        tl = d.get("templating", {}).get("list", [])
        for v in tl:
            self.check_ds(v.get("datasource"), "template variable %s" % v.get("name"))
            if v.get("type") == "query":
                self.gvars[v.get("name")] = v
        want = {"device", "channel"} if self.kind == "campaign" else {"company"}
        if set(self.gvars) != want:
            self.err("template variables are %r, expected %r" % (sorted(self.gvars), sorted(want)))

    def check_ds(self, ds, where):
        want = {"type": self.ds_type, "uid": self.ds_uid}
        if not isinstance(ds, dict):
            return self.err("%s: datasource is %r, expected the reference %r" % (where, ds, want))
        if ds.get("type") != self.ds_type:
            self.err("%s: datasource type is %r, expected %r" % (where, ds.get("type"), self.ds_type))
        if ds.get("uid") != self.ds_uid:
            self.err("%s: datasource uid is %r, expected %r" % (where, ds.get("uid"), self.ds_uid))
        if set(ds) - {"type", "uid"}:
            self.err("%s: datasource reference has extra keys %r" % (where, sorted(set(ds) - {"type", "uid"})))

    def check_no_ids(self, node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("datasourceId", "datasourceUid", "datasourceName"):
                    self.err("%s.%s: datasources are referenced by {type, uid} only" % (path, k))
                if k == "datasource" and isinstance(v, dict) and "id" in v:
                    self.err("%s.datasource has a numeric id %r" % (path, v["id"]))
                if k == "datasource" and not isinstance(v, dict):
                    self.err("%s.datasource is %r: it must be {type, uid}" % (path, v))
                self.check_no_ids(v, "%s.%s" % (path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self.check_no_ids(v, "%s[%d]" % (path, i))
        elif isinstance(node, str) and re.search(r"/api/datasources/(proxy/)?\d+", node):
            self.err("%s: hard-coded datasource id in %r" % (path, node[:80]))

    def check_panel(self, p):
        where = "panel %s (%s)" % (p.get("id"), p.get("title"))
        for k in ("type", "title", "gridPos"):
            if not p.get(k):
                self.err("%s: no %s" % (where, k))
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g.get("x", 0) + g.get("w", 0) > 24:
            self.err("%s: bad gridPos %r" % (where, g))
        self.check_ds(p.get("datasource"), where)
        targets = p.get("targets")
        if not targets:
            self.err("%s: no target" % where)
        for t in targets or []:
            self.check_ds(t.get("datasource"), "%s target %s" % (where, t.get("refId")))
            if not t.get("refId") or not isinstance(t.get("query"), str) or not t["query"].strip():
                self.err("%s: target without refId or Flux query" % where)

    # -- Flux
    def queries(self, d):
        out = []
        for p in d.get("panels", []):
            for t in p.get("targets", []):
                if isinstance(t.get("query"), str):
                    out.append(("panel %s (%s)" % (p.get("id"), p.get("title")), t["query"], p))
        for name, v in self.gvars.items():
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if not isinstance(q, str) or not q.strip():
                self.err("template variable %s: no Flux query" % name)
                continue
            out.append(("template variable %s" % name, q, None))
        return out

    def check_query(self, where, text, panel):
        """panel: the panel dict of a target's query, None for a template variable"""
        try:
            q = Query(where, text)
        except Failure as e:
            return self.err("%s: %s" % (where, e))
        try:
            self._check_literals(q)
            self._check_macros(q)
            self._check_gvars(q)
            if panel is None:
                if q.assignments:
                    q.fail("a template variable query has no statement before schema.tagValues")
                self._check_variable_query(q)
                return
            columns, gkey = self._check_panel_query(q, panel)
            # what the panel shows must come out of its query
            need = {"timeseries": ["_time", "_value"], "bargauge": ["_value"], "stat": ["_value"]}
            missing = [c for c in need.get(panel.get("type"), []) if c not in columns]
            if missing:
                q.fail("a %s panel needs column(s) %s in the query result (columns: %s)"
                       % (panel.get("type"), ", ".join(missing), ", ".join(sorted(columns))))
            name = (panel.get("fieldConfig") or {}).get("defaults", {}).get("displayName") or ""
            for label in re.findall(r"\$\{__field\.labels\.(\w+)\}", name):
                if label not in columns:
                    q.fail("displayName uses the label %s, which is not a column of the result (columns: %s)"
                           % (label, ", ".join(sorted(columns))))
        except Failure as e:
            self.err(str(e))

    def _check_literals(self, q):
        for t in q.strings:
            if "$" in t.text or "[[" in t.text or re.search(r"[A-Za-z]+\.[A-Za-z]+", t.text):
                q.fail("the Flux literal \"%s\" holds text Grafana would interpolate ($, [[ or word.word): "
                       "names must be escaped (\\x24, \\x5b, \\x2e)" % t.text)

    def _check_macros(self, q):
        code = [t for t in q.toks if t.kind not in ("str", "regex")]
        for a, dot, b in zip(code, code[1:], code[2:]):
            if dot.text == "." and a.kind == "id" and b.kind == "id":
                if b.text in ("timeRangeStart", "timeRangeStop", "windowPeriod", "defaultBucket", "organization",
                              "bucket") and a.text != "v":
                    q.fail("%s.%s: Grafana rewrites <word>.%s in Flux (before 11.3); write r[\"%s\"]"
                           % (a.text, b.text, b.text, b.text))
        for t in code:
            if t.kind == "gvar":
                q.fail("Grafana variable %s outside a regex: not supported by these checks" % t.text)

    def _check_gvars(self, q):
        for t in q.toks:
            if t.kind == "regex":
                for name, fmt in gvars_in(t.text):
                    if name in GRAFANA_BUILTINS:
                        continue
                    if name not in self.gvars:
                        q.fail("uses the Grafana variable %r, which the dashboard does not define" % name)
                    if fmt != "regex":
                        q.fail("variable %s in a regex must be written ${%s:regex} (multi-value and All)"
                               % (name, name))

    def _source(self, q, call, what, panel=None):
        name, args = call
        btoks = args.get("bucket", [])
        if len(btoks) == 1 and btoks[0].kind == "id" and panel is not None:
            return self._resolution(q, btoks[0].text, panel)
        b = one_str(btoks, "%s: bucket" % what)
        if b.value != self.bucket:
            q.fail("the bucket literal \"%s\" decodes to %r, expected %r" % (b.text, b.value, self.bucket))
        if self.require_data and self.kind == "campaign" and b.value not in self.real_buckets:
            q.fail("bucket %r is not one tsv_parser wrote (%s)" % (b.value, ", ".join(self.real_buckets)))
        levels = [lv for lv in self.levels if panel is not None and lv in RESOLUTION_PANELS.get(panel.get("type"), ())]
        if self.kind == "campaign" and levels:
            q.fail("a %s panel must read the bucket of the time range's resolution (raw, %s), not always %r"
                   % (panel.get("type"), ", ".join(levels), b.value))

    def _resolution(self, q, name, panel):
        """from(bucket: name): the bucket computed from the time range, checked
        for the ranges of RESOLUTION_CHECKS against the resolution rule."""
        if self.kind != "campaign":
            q.fail("from(bucket: %s): only the campaign dashboard chooses its bucket by time range" % name)
        levels = [lv for lv in self.levels if lv in RESOLUTION_PANELS.get(panel.get("type"), ())]
        chosen = []
        for label, span in RESOLUTION_CHECKS:
            got = q.evaluate(name, span)
            want = self.bucket
            need = [lv for lv in RESOLUTION_LEVELS if span > RESOLUTION_LEVELS[lv]]
            if need and levels:
                order = list(RESOLUTION_LEVELS)
                coarse = [lv for lv in levels if order.index(lv) >= order.index(need[-1])]
                want = "%s_%s" % (self.bucket, coarse[0] if coarse else levels[-1])
            if got != want:
                q.fail("for a time range of %s the query reads bucket %r, expected %r" % (label, got, want))
            chosen.append("%s %s" % (label, got))
            if got == self.bucket and self.require_data and self.bucket not in self.real_buckets:
                q.fail("bucket %r is not one tsv_parser wrote (%s)" % (got, ", ".join(self.real_buckets)))
        self.notes.append("%s: buckets by time range: %s" % (q.where, ", ".join(chosen)))

    def _pred(self, q, toks, what):
        pred = Predicate(toks, "%s: %s" % (q.where, what))
        for col, op, rhs in pred.comparisons:
            self._check_name(q, col, op, rhs)
        return pred

    def _check_name(self, q, col, op, rhs):
        d = self.data
        if col == "_measurement":
            known = d.measurements
        elif col == "_field":
            known = d.fields
        elif col.startswith("_"):
            q.fail("filters on %s, which is not a tag, measurement or field" % col)
        else:
            if col not in d.tags:
                q.fail("tag %r is not written by tsv_parser (%s; its tags: %s)" % (col, d.label, ", ".join(d.tags)))
            known = sorted(d.values.get(col, ()))
        what = {"_measurement": "measurement", "_field": "field"}.get(col, "tag %s value" % col)
        if rhs.kind == "str":
            for icol, ivalue in self.inputs:
                # a name the template was given: it must decode back to it
                if col == icol and rhs.value != ivalue:
                    q.fail("the %s literal \"%s\" decodes to %r, expected %r" % (col, rhs.text, rhs.value, ivalue))
                if col == icol and not self.require_data:
                    return
            if rhs.value not in known:
                q.fail("%s %r is not written by tsv_parser (%s: %s)"
                       % (what, rhs.value, d.label, ", ".join(map(str, known[:40]))))
        elif not gvars_in(rhs.text):
            rx = re.compile(rhs.text.replace("\\/", "/"))
            if not any(rx.search(str(v)) for v in known):
                q.fail("%s pattern /%s/ matches nothing tsv_parser writes (%s)" % (what, rhs.text, d.label))
        else:
            for name, _ in gvars_in(rhs.text):
                v = self.gvars.get(name)
                vq = v and (v.get("query") if isinstance(v.get("query"), str) else v["query"].get("query"))
                m = vq and re.search(r'\btag:\s*"([^"]*)"', vq)
                if not m or m.group(1) != col:
                    q.fail("r.%s is filtered with variable %s, whose query lists tag %r" % (col, name,
                                                                                          m and m.group(1)))

    def _check_variable_query(self, q):
        if q.imports != ["influxdata/influxdb/schema"] or len(q.stages) != 1 or q.stages[0][0] != "schema.tagValues":
            q.fail("a template variable query must be import \"influxdata/influxdb/schema\" schema.tagValues(...)")
        name, args = q.stages[0]
        self._source(q, q.stages[0], q.where)
        tag = one_str(args.get("tag", []), "%s: tag" % q.where).value
        if tag not in self.data.tags:
            q.fail("tag %r is not written by tsv_parser (%s; its tags: %s)" % (tag, self.data.label,
                                                                            ", ".join(self.data.tags)))
        for a in ("start", "stop"):
            want = "v.timeRangeStart" if a == "start" else "v.timeRangeStop"
            if "".join(t.text for t in args.get(a, [])) != want:
                q.fail("schema.tagValues %s: must be %s (the default start is -30d)" % (a, want))
        rows = self.rows
        if "predicate" in args:
            pred = self._pred(q, args["predicate"], "predicate")
            rows = [r for r in rows if pred(r)]
        values = sorted({r[tag] for r in rows if tag in r})
        self.notes.append("%s: %d values (%s)" % (q.where, len(values), ", ".join(values[:6])))
        if self.require_data and not values:
            q.fail("lists no value from the points tsv_parser wrote")

    def _check_panel_query(self, q, panel):
        if q.imports:
            q.fail("unexpected import in a panel query")
        st = q.stages
        if len(st) < 3 or st[0][0] != "from" or st[1][0] != "range":
            q.fail("a panel query must start with from(bucket: ...) |> range(...) |> filter(...)")
        self._source(q, st[0], q.where, panel)
        rng = {k: "".join(t.text for t in v) for k, v in st[1][1].items()}
        if rng != {"start": "v.timeRangeStart", "stop": "v.timeRangeStop"}:
            q.fail("range must be (start: v.timeRangeStart, stop: v.timeRangeStop), not %r" % rng)
        d = self.data
        rows = list(self.rows)
        columns = set(d.columns)
        gkey = set(d.tags) | {"_measurement", "_field", "_start", "_stop"}
        split_tag = "file_name" if "file_name" in d.tags else None
        first_filter = None
        channels_in = None
        for name, args in st[2:]:
            def need(cols, why):
                missing = [c for c in cols if c not in columns]
                if missing:
                    q.fail("%s uses column %s, which does not exist at that point (columns: %s)"
                           % (why, ", ".join(map(repr, missing)), ", ".join(sorted(columns))))
            if name == "filter":
                pred = self._pred(q, args.get("fn", []), "filter")
                need(pred.columns(), "filter")
                if first_filter is None:
                    first_filter = pred
                rows = [r for r in rows if pred(r)]
            elif name == "group":
                cols = str_list(args["columns"], q.where + ": group columns") if "columns" in args else []
                if "mode" in args:
                    q.fail("group(mode:) is not supported by these checks")
                need(cols, "group")
                if split_tag and split_tag in cols:
                    q.fail("groups by %s: one series per file would split the curves" % split_tag)
                gkey = set(cols)
                if "channel_id" in cols:
                    channels_in = {r.get("channel_id") for r in rows}
            elif name in ("keep", "drop"):
                cols = str_list(args["columns"], "%s: %s columns" % (q.where, name))
                need(cols, name)
                columns = set(cols) if name == "keep" else columns - set(cols)
                gkey &= columns
                rows = [{k: v for k, v in r.items() if k in columns} for r in rows]
            elif name == "pivot":
                rk = str_list(args["rowKey"], q.where + ": pivot rowKey")
                ck = str_list(args["columnKey"], q.where + ": pivot columnKey")
                vc = one_str(args["valueColumn"], q.where + ": pivot valueColumn").value
                need(rk + ck + [vc], "pivot")
                out = {}
                for r in rows:
                    key = tuple(r.get(c) for c in sorted(gkey) + rk)
                    o = out.setdefault(key, {c: r.get(c) for c in sorted(gkey) + rk})
                    o["_".join(str(r.get(c)) for c in ck)] = r.get(vc)
                rows = list(out.values())
                gkey -= set(ck) | {vc}
                columns = set(gkey) | set(rk) | {k for r in rows for k in r}
            elif name == "sort":
                cols = str_list(args["columns"], q.where + ": sort columns") if "columns" in args else ["_value"]
                need(cols, "sort")
                rows.sort(key=lambda r: tuple(str(r.get(c)) for c in cols))
            elif name in AGGREGATES or name in ("last", "first", "max", "min", "limit"):
                col = one_str(args["column"], q.where).value if "column" in args else "_value"
                need([col], name)
                if name in ("aggregateWindow", "integral"):
                    need(["_time"], name)
                    if "every" in args and "".join(t.text for t in args["every"]) != "v.windowPeriod":
                        q.fail("aggregateWindow every: must be v.windowPeriod")
                if name in AGGREGATES and split_tag and split_tag in gkey:
                    q.fail("%s() runs while %s is in the group key: each file would be a separate series "
                           "(group by channel_id first)" % (name, split_tag))
                groups = {}
                for r in rows:
                    groups.setdefault(tuple(r.get(c) for c in sorted(gkey)), []).append(r)
                if name in ("last", "first", "max", "min", "limit"):
                    pick = {"last": lambda g: g[-1:], "first": lambda g: g[:1], "limit": lambda g: g[:1],
                            "max": lambda g: [max(g, key=lambda r: r.get(col))],
                            "min": lambda g: [min(g, key=lambda r: r.get(col))]}[name]
                    rows = [r for g in groups.values() for r in pick(g)]
                elif name != "aggregateWindow":
                    # one row per table: the group key and the value
                    rows = [dict({c: g[0].get(c) for c in gkey}, _value=len(g)) for g in groups.values()]
                    columns = set(gkey) | {"_value"}
            elif name == "map":
                body = [t.text for t in args.get("fn", [])]
                if body[:7] != ["(", "r", ")", "=>", "(", "{", "r"] or body[7:8] != ["with"]:
                    q.fail("map() must be (r) => ({r with ...}) for these checks")
            elif name == "yield":
                pass
            else:
                q.fail("Flux function %s() is not known to these checks (tests/dashboards/render.py)" % name)
        # the campaign of the first filter, and the dashboard's selectors
        if self.kind == "campaign":
            if first_filter is None:
                q.fail("no filter")
            cmp = {(c, op): t for c, op, t in first_filter.comparisons}
            for need_cmp in [("_measurement", "=="), ("campaign", "=="), ("device_master_sn", "=~"),
                             ("channel_id", "=~")]:
                if need_cmp not in cmp:
                    q.fail("the first filter must include r.%s %s ..." % need_cmp)
            if cmp[("campaign", "==")].value != self.campaign:
                q.fail("the campaign literal decodes to %r, expected %r" % (cmp[("campaign", "==")].value,
                                                                          self.campaign))
            if cmp[("_measurement", "==")].value != self.measurement:
                q.fail("the measurement literal decodes to %r, expected %r" % (cmp[("_measurement", "==")].value,
                                                                             self.measurement))
        series = {tuple(r.get(c) for c in sorted(gkey)) for r in rows}
        if split_tag and split_tag in gkey:
            q.fail("the result is grouped by %s: one series per file" % split_tag)
        if channels_in is not None and "channel_id" in gkey and series:
            chans = {r.get("channel_id") for r in rows}
            if len(series) != len(chans) or not chans <= channels_in:
                q.fail("%d series for %d channels: curves are split" % (len(series), len(chans)))
        self.notes.append("%s: %d rows in %d series (group key: %s)"
                          % (q.where, len(rows), len(series), ", ".join(sorted(gkey)) or "none"))
        if self.require_data and not rows:
            q.fail("selects nothing from the points tsv_parser wrote (%s)" % self.rows_label)
        return columns, gkey

    def run(self, text):
        try:
            d = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError("invalid constant " + c)))
        except ValueError as e:
            self.err("the rendered dashboard is not valid JSON: %s" % e)
            return None
        self.check_structure(d)
        if isinstance(d, dict):
            qs = self.queries(d)
            if not qs:
                self.err("no Flux query")
            for where, text_, panel in qs:
                self.check_query(where, text_, panel)
        return d


# --------------------------------------------------------------------------
# command line

def resolve_template(arg, kind):
    if os.sep in arg or arg.endswith(".j2"):
        path = arg
    else:
        path = os.path.join(ROOT, "dashboards", {"campaign": "campaign", "parser-monitoring": "parser-monitoring",
                                                 "monitoring": "parser-monitoring"}.get(arg, arg) + ".json.j2")
    if not os.path.isfile(path):
        raise Failure("no template %s" % path)
    if kind is None:
        kind = "monitoring" if "monitoring" in os.path.basename(path) else "campaign"
    return path, kind


def load_vars(args):
    variables = {}
    if args.vars:
        try:
            src = sys.stdin.read() if args.vars == "-" else open(args.vars, encoding="utf-8").read()
            v = json.loads(src)
        except (OSError, ValueError) as e:
            raise Failure("--vars %s: %s" % (args.vars, e))
        if not isinstance(v, dict):
            raise Failure("--vars %s: not a JSON object" % args.vars)
        variables.update(v)
    for kv in args.var or []:
        if "=" not in kv:
            raise Failure("--var %r: expected NAME=VALUE" % kv)
        k, v = kv.split("=", 1)
        variables[k] = v
    return variables


def cmd_check(args):
    path, kind = resolve_template(args.template, args.kind)
    variables = load_vars(args)
    if args.facts:
        try:
            facts = json.load(open(args.facts, encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise Failure("--facts %s: %s" % (args.facts, e))
    else:
        facts = collect_facts(args.tsv_parser)
    text = render_jinja(path, variables)
    if args.engine == "ansible":
        via_ansible = render_ansible(path, variables)
        try:
            if json.loads(via_ansible) != json.loads(text):
                raise Failure("%s: ansible-playbook's template lookup and jinja2 render different dashboards"
                              % os.path.basename(path))
        except ValueError as e:
            raise Failure("%s: the dashboard rendered by ansible-playbook is not JSON: %s"
                          % (os.path.basename(path), e))
        text = via_ansible
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    checker = Checker(kind, variables, facts, args.expect_datasource_type, args.require_data)
    d = checker.run(text)
    name = os.path.basename(path)
    if checker.errors:
        for e in checker.errors:
            sys.stderr.write("render.py: %s: %s\n" % (name, e))
        return 1
    if args.verbose:
        for n in checker.notes:
            print("  " + n)
    print("%s: OK (%s, uid %s, %d panels, %d template variables, datasource %s/%s)"
          % (name, kind, d.get("uid"), len(d.get("panels", [])), len(checker.gvars), checker.ds_type,
             checker.ds_uid))
    return 0


def cmd_facts(args):
    facts = collect_facts(args.tsv_parser)
    text = json.dumps(facts)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="render.py", description="Render and check the dashboards/ templates.")
    sub = ap.add_subparsers(dest="cmd")
    f = sub.add_parser("facts", help="collect what tsv_parser writes for examples/data")
    f.add_argument("-o", "--output")
    f.add_argument("--tsv-parser")
    c = sub.add_parser("check", help="render a template and check it")
    c.add_argument("template")
    c.add_argument("--var", action="append", metavar="NAME=VALUE")
    c.add_argument("--vars", metavar="FILE")
    c.add_argument("--facts", metavar="FILE")
    c.add_argument("--kind", choices=["campaign", "monitoring"])
    c.add_argument("--expect-datasource-type", metavar="TYPE")
    c.add_argument("--require-data", action="store_true")
    c.add_argument("--engine", choices=["jinja", "ansible"], default="jinja")
    c.add_argument("--tsv-parser")
    c.add_argument("-o", "--output")
    c.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_usage(sys.stderr)
        return 2
    try:
        return cmd_check(args) if args.cmd == "check" else cmd_facts(args)
    except Failure as e:
        sys.stderr.write("render.py: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
