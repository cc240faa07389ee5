#!/usr/bin/env python3
"""Run the InfluxQL dashboards on a real InfluxDB 1.x and check what they show.

Python 3 standard library and jinja2 only (through render.py).

    influxql.py expect --data DIR --company NAME
        Prints, as JSON, what the example files of DIR/NAME hold, computed
        here from the TSV files themselves (not from tsv_parser's output):
        per campaign, the channel_id of every channel by unit, the energy in
        kWh of every W channel (trapezoids over the merged, time-sorted rows
        of the channel's files) and the newest point time of every device.

    influxql.py check --url URL --user USER --company NAME --data DIR
                      [--meta-database DB] [--meta-user USER] [--companies A,B]
                      [--dashboards DIR]
        The passwords come from the environment: INFLUXQL_PASSWORD (USER)
        and INFLUXQL_META_PASSWORD (--meta-user), never from the command line.
        Renders dashboards/campaign.json.j2 (one per campaign folder of
        DIR/NAME) and, with --meta-database, parser-monitoring.json.j2, with
        query_language=influxql and the variables the playbook passes; takes
        every query (template variables first, then panels), replaces
        Grafana's macros as Grafana does, runs it on URL as USER and checks
        the answer against `expect`: no error, data, the expected series
        (one per channel_id, never split by file_name), the energy panel's
        kWh equal to the computed value, the newest time per device.
        Each campaign is checked with the variables at All, at one device and
        at two channels. One line per check on stdout; exit 1 on a failure.

    influxql.py grafana --grafana URL --user LOGIN --org ID --dashboard UID
                        --company NAME --campaign NAME --data DIR
        The same checks, on the campaign dashboard Grafana holds (GET
        /api/dashboards/uid/UID as LOGIN in organization ID, its password in
        GRAFANA_USER_PASSWORD): every query goes through Grafana's POST
        /api/ds/query with its datasource's uid, the template variables
        replaced here as Grafana's frontend does, $timeFilter and $__interval
        left to Grafana's backend (intervalMs sent as the frontend computes it).

Grafana's interpolation followed here (Grafana 11.6 to 13, InfluxQL mode of
the core InfluxDB datasource, raw queries):
  * $timeFilter: time >= <from>ms and time <= <to>ms (epoch milliseconds);
  * $__interval: the range divided by the panel's max data points, rounded
    to Grafana's next "nice" interval (kbn.roundInterval), written 10s, 1m,
    1h, 1d; $__interval_ms: the same in milliseconds; $interval: as $__interval;
  * ${name:regex}: a single value regex-escaped (kbn.regexEscape: \\ ^ $ * + ?
    . ( ) | [ ] { } / get a backslash), several as (a|b), and "All" as the
    variable's allValue, untouched (.*).
"""

import argparse
import base64
import datetime
import json
import math
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import render  # noqa: E402  (render_jinja: the template lookup as Ansible does it)


class Failure(Exception):
    pass


# --------------------------------------------------------------------------
# expect: what the example files hold, read here from the TSV files

def _label(name, unit):
    """Channel label as tsv_parser's serial scheme writes it: "Ph 1" V -> U1, "Voie2" W -> Ch2."""
    m = re.match(r"^(?:Ph\s*(\d+))$", name)
    if m and unit == "V":
        return "U" + m.group(1)
    m = re.match(r"^Voie\s*(\d+)$", name)
    if m:
        return "Ch" + m.group(1)
    raise Failure("channel name %r %s: not in the example files' naming" % (name, unit))


def _zone(header):
    if header.get("DataTimeSettings", "").strip().upper() == "UTC":
        return datetime.timezone.utc
    return zoneinfo.ZoneInfo(header.get("TimeZoneName", "").strip() or "Europe/Paris")


def _instant(naive, zone, prev):
    """Epoch seconds of a wall time; a repeated wall time takes its second instant
    when the previous row lies between the two (docs/data-contract.md section 9)."""
    t0 = naive.replace(tzinfo=zone, fold=0).timestamp()
    t1 = naive.replace(tzinfo=zone, fold=1).timestamp()
    if t1 > t0 and prev is not None and t0 <= prev < t1:
        return t1
    return min(t0, t1)


def read_tsv(path):
    """[(channel_id, unit, device_master_sn, [(t, value), ...]), ...] of one file."""
    with open(path, encoding="utf-8") as f:
        lines = [ln.rstrip("\r\n") for ln in f]
    complete = open(path, "rb").read().endswith(b"\n")
    header = {}
    if lines and lines[0].strip() == "START_HEADER":
        end = lines.index("END_HEADER")
        header = json.loads("".join(lines[1:end]))
        lines = lines[lines.index("START_DATA") + 1:]
        if "END_DATA" in lines:
            lines = lines[:lines.index("END_DATA")]
    if not complete:
        lines = lines[:-1]  # a last row without its line break is not ingested
    serials = [c.strip() for c in lines[0].split("\t")]
    names = [c.strip() for c in lines[1].split("\t")]
    master = serials[0]
    zone = _zone(header)
    chans = []
    for i in range(1, len(names)):
        name, unit = names[i].rsplit(" ", 1)
        sn = serials[i]
        cid = "%s%s_%s_M%s" % ("M" if sn == master else "S", sn, _label(name, unit), master)
        chans.append((cid, unit, []))
    prev = None
    for ln in lines[2:]:
        cells = ln.split("\t")
        if not ln.strip():
            continue
        t = _instant(datetime.datetime.strptime(cells[0].strip(), "%d/%m/%y %H:%M:%S"), zone, prev)
        prev = t
        for (cid, unit, pts), cell in zip(chans, cells[1:]):
            if cell.strip():
                pts.append((t, float(cell)))
    return [(cid, unit, master, pts) for cid, unit, pts in chans]


def expect(data, company):
    out = {}
    base = os.path.join(data, company)
    for campaign in sorted(os.listdir(base)):
        series = {}
        units = {}
        devices = {}
        for dirpath, _, files in os.walk(os.path.join(base, campaign)):
            for fn in sorted(files):
                if not fn.endswith(".tsv"):
                    continue
                for cid, unit, master, pts in read_tsv(os.path.join(dirpath, fn)):
                    # a channel's points, all files merged: the same instant once
                    series.setdefault(cid, {}).update(dict(pts))
                    units[cid] = unit
                    if pts:
                        devices[master] = max(devices.get(master, 0), max(t for t, _ in pts))
        energy = {}
        for cid, pts in series.items():
            if units[cid] != "W":
                continue
            rows = sorted(pts.items())
            joules = sum((t1 - t0) * (v0 + v1) / 2 for (t0, v0), (t1, v1) in zip(rows, rows[1:]))
            energy[cid] = joules / 3.6e6
        times = [t for pts in series.values() for t in pts]
        out[campaign] = {
            "channels": {u: sorted(c for c in units if units[c] == u) for u in sorted(set(units.values()))},
            "energy_kwh": energy,
            "last": {d: int(t) for d, t in devices.items()},
            "first_s": int(min(times)), "last_s": int(max(times)),
            "device_of": {c: c.rsplit("_M", 1)[1] for c in units},
        }
    return out


# --------------------------------------------------------------------------
# Grafana's interpolation

def regex_escape(v):
    # kbn.regexEscape (public/app/core/utils/kbn.ts)
    return re.sub(r"([\\^$*+?.()|\[\]{}/])", r"\\\1", v)


def format_regex(values, all_value):
    if values == "$__all":
        return all_value
    if len(values) == 1:
        return regex_escape(values[0])
    return "(" + "|".join(regex_escape(v) for v in values) + ")"


# kbn.roundInterval's steps: (upper bound of the raw interval in ms, interval in ms)
_ROUND = [(10, 1), (20, 10), (30, 20), (75, 50), (150, 100), (250, 200), (350, 300), (450, 400),
          (750, 500), (1500, 1000), (2500, 2000), (3500, 3000), (4500, 4000), (7500, 5000), (12500, 10000),
          (17500, 15000), (25000, 20000), (45000, 30000), (90000, 60000), (150000, 120000), (270000, 300000),
          (450000, 600000), (750000, 900000), (1050000, 1200000), (1500000, 1800000), (2700000, 3600000),
          (5400000, 7200000), (9000000, 10800000), (16200000, 21600000), (32400000, 43200000),
          (86400000, 86400000), (604800000, 604800000), (1814400000, 2592000000)]


def grafana_interval(from_ms, to_ms, max_points):
    raw = (to_ms - from_ms) / max_points
    for bound, ms in _ROUND:
        if raw < bound:
            return ms
    return 31536000000


def interval_text(ms):
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if ms % size == 0:
            return "%d%s" % (ms // size, unit)
    return "%dms" % ms


# the macros Grafana's backend replaces (pkg/tsdb/influxdb/influxql), not the frontend
MACROS_RE = r"\$(timeFilter|__interval_ms|__interval|interval)\b"


def interpolate(query, from_ms, to_ms, variables, max_points=1000):
    """The query as the server receives it: Grafana's macros and the template variables."""
    ms = grafana_interval(from_ms, to_ms, max_points)
    text = query.replace("$timeFilter", "time >= %dms and time <= %dms" % (from_ms, to_ms))
    text = text.replace("$__interval_ms", str(ms)).replace("$__interval", interval_text(ms))
    text = re.sub(r"\$interval\b", interval_text(ms), text)
    return interpolate_variables(text, variables)


def interpolate_variables(text, variables):
    """The template variables, as Grafana's frontend replaces them before
    sending a query; the backend's macros are left in place."""

    def var(m):
        name, fmt = m.group(1), m.group(2)
        if name not in variables:
            raise Failure("query uses ${%s}, which the dashboard does not define" % name)
        if isinstance(variables[name], str):
            # a single-value custom variable (resolution: a database name in a quoted identifier)
            if fmt != "raw":
                raise Failure("variable ${%s:%s}: a database name needs the :raw format" % (name, fmt))
            return variables[name]
        if fmt != "regex":
            raise Failure("variable ${%s:%s}: InfluxQL regexes need the :regex format" % (name, fmt))
        return format_regex(*variables[name])
    text = re.sub(r"\$\{(\w+)(?::(\w+))?\}", var, text)
    if re.search(r"\$\w|\[\[", re.sub(MACROS_RE, "", text)):
        raise Failure("uninterpolated Grafana syntax left in: %s" % text)
    return text


# --------------------------------------------------------------------------
# the server

class Influx:
    def __init__(self, url, user, password):
        self.url, self.user, self.password = url.rstrip("/"), user, password

    def query(self, q, db=None):
        """The statement's result object; Failure with the server's error."""
        params = {"q": q, "epoch": "s"}
        if db:
            params["db"] = db
        req = urllib.request.Request(self.url + "/query", data=urllib.parse.urlencode(params).encode(),
                                     method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        if self.user:
            tok = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                body = json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            raise Failure("HTTP %d: %s" % (e.code, e.read().decode(errors="replace")[:300]))
        res = body.get("results", [{}])[0]
        if "error" in body or "error" in res:
            raise Failure("server error: %s" % (body.get("error") or res.get("error")))
        return res


    def run(self, query, rng, variables, db=None, source=None):
        """Interpolated here, as Grafana would, then run on the server."""
        return self.query(interpolate(query, rng[0], rng[1], variables), db)


class Grafana:
    """Queries through Grafana's POST /api/ds/query (Grafana 11.6 to 13): the
    frontend replaces the template variables and sends intervalMs and
    maxDataPoints; the backend replaces $timeFilter and $__interval and answers
    data frames, turned back here into InfluxDB's series (time in seconds)."""

    def __init__(self, url, user, password, org):
        self.url, self.org = url.rstrip("/"), str(org)
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Authorization", self.auth)
        req.add_header("X-Grafana-Org-Id", self.org)
        req.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=60) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            raise Failure("%s %s: HTTP %d: %s" % (method, path, e.code, e.read().decode(errors="replace")[:300]))

    def run(self, query, rng, variables, db=None, source=None, max_points=1000):
        """source: the panel target or template variable, which names the
        datasource (uid) and the result format; db: the datasource's own."""
        text = interpolate_variables(query, variables)
        datasource = (source or {}).get("datasource")
        if not isinstance(datasource, dict) or not datasource.get("uid"):
            raise Failure("query without a datasource uid: %s" % text)
        ans = self.call("POST", "/api/ds/query", {
            "from": str(rng[0]), "to": str(rng[1]),
            "queries": [{"refId": "A", "datasource": datasource, "rawQuery": True, "query": text,
                         "resultFormat": source.get("resultFormat", "time_series"), "maxDataPoints": max_points,
                         "intervalMs": grafana_interval(rng[0], rng[1], max_points)}]})
        res = ans.get("results", {}).get("A", {})
        if "error" in res:
            raise Failure("Grafana: %s" % res["error"])
        series = []
        for f in res.get("frames", []):
            fields, cols = f["schema"]["fields"], f["data"]["values"]
            tags = next((x.get("labels") for x in fields if x.get("labels")), None)
            names = ["time" if x["type"] == "time" else x["name"] for x in fields]
            rows = [list(r) for r in zip(*cols)]
            ti = names.index("time") if "time" in names else None
            for r in rows:
                if ti is not None and r[ti] is not None:
                    r[ti] //= 1000
            s = {"name": f["schema"].get("name", ""), "columns": names, "values": rows}
            if tags:
                s["tags"] = tags
            series.append(s)
        return {"series": series} if series else {}


def values_of(series, column):
    i = series["columns"].index(column)
    return [row[i] for row in series["values"]]


def live_columns(series):
    """The value columns that hold at least one value."""
    return [c for i, c in enumerate(series["columns"]) if c != "time" and any(r[i] is not None for r in series["values"])]


# --------------------------------------------------------------------------
# check

class Checker:
    def __init__(self, server, db, dashboards):
        self.server, self.db, self.dashboards, self.failed = server, db, dashboards, 0

    def ok(self, cond, what):
        print("%s %s" % ("ok  " if cond else "FAIL", what))
        if not cond:
            self.failed += 1
        return cond

    def run(self, where, query, rng, variables, source=None):
        try:
            return self.server.run(query, rng, variables, db=self.db, source=source)
        except Failure as e:
            self.ok(False, "%s: %s\n     query: %s" % (where, e, query))
            return None

    def variable(self, where, query, rng, variables, source=None):
        res = self.run(where, query, rng, variables, source)
        vals = sorted(v for s in (res or {}).get("series", []) for v in values_of(s, "value"))
        return vals

    def timeseries(self, where, res, unit, want, agg):
        """One series per wanted channel_id, its only live column agg_<channel_id>_<unit>."""
        series = (res or {}).get("series", [])
        got = sorted(s.get("tags", {}).get("channel_id", "?") for s in series)
        # no data only where no channel of the unit is selected
        self.ok((bool(series) or not want) and got == sorted(want),
                "%s: series %s (expected %s)" % (where, got, sorted(want)))
        self.ok(all(set(s.get("tags", {})) == {"channel_id"} for s in series),
                "%s: grouped by channel_id only (no file_name)" % where)
        bad = [(s["tags"]["channel_id"], live_columns(s)) for s in series
               if live_columns(s) != ["%s_%s_%s" % (agg, s["tags"]["channel_id"], unit)]]
        self.ok(not bad, "%s: each series carries its own channel's field only %s" % (where, bad or ""))
        return series

    def campaign(self, company, campaign, exp, d=None):
        """d: the dashboard as Grafana holds it; else rendered from the template."""
        if d is None:
            variables = {"company_name": company, "campaign_name": campaign, "dashboard_uid": "powerview_test",
                         "datasource_uid": "influxql_" + company, "query_language": "influxql"}
            d = json.loads(render.render_jinja(os.path.join(self.dashboards, "campaign.json.j2"), variables))
        # the queried variables (the playbook adds a constant, powerview_hash)
        tv = {v["name"]: v for v in d["templating"]["list"] if v["type"] == "query"}
        panels = {p["id"]: p for p in d["panels"]}
        targets = [t for p in d["panels"] for t in p["targets"]]
        self.ok(all(t.get("rawQuery") is True and t["query"].startswith("SELECT ") for t in targets) and
                all(v["query"].startswith("SHOW TAG VALUES ") for v in tv.values()),
                "%s: every query is raw InfluxQL" % campaign)
        rng = ((exp["first_s"] - 3600) * 1000, (exp["last_s"] + 3600) * 1000)
        devices = sorted(exp["last"])
        all_chans = sorted(c for cs in exp["channels"].values() for c in cs)
        # the variables at All, then one device, then two channels of it
        selections = [("All", "$__all", "$__all")]
        one = devices[0]
        chans_one = [c for c in all_chans if exp["device_of"][c] == one]
        selections.append(("device %s" % one, [one], "$__all"))
        two = [c for c in chans_one if c in exp["energy_kwh"]][:2]
        selections.append(("channels %s" % ",".join(two), [one], two))
        # the resolution: a custom variable naming the database, raw by default
        resol = [v for v in d["templating"]["list"] if v["name"] == "resolution"]
        if resol:
            r = resol[0]
            opts = [(o["text"], o["value"]) for o in r.get("options", [])]
            want = [("raw", company)] + [(lv, "%s_%s" % (company, lv)) for lv in ("1h", "1d", "1w")]
            self.ok(r["type"] == "custom" and opts == want
                    and r["query"] == ",".join("%s : %s" % o for o in want)
                    and r["current"].get("value") == company,
                    "%s: variable resolution offers %s, raw by default" % (campaign, [o[1] for o in opts]))
        for label, dev, chan in selections:
            where = "%s [%s]" % (campaign, label)
            vs = {"device": (dev, tv["device"]["allValue"]), "channel": (chan, tv["channel"]["allValue"])}
            if resol:
                vs["resolution"] = resol[0]["current"]["value"]
            got_dev = self.variable(where + " variable device", tv["device"]["query"], rng, vs, tv["device"])
            self.ok(got_dev == devices, "%s: variable device lists %s (expected %s)" % (where, got_dev, devices))
            got_ch = self.variable(where + " variable channel", tv["channel"]["query"], rng, vs, tv["channel"])
            want_ch = all_chans if dev == "$__all" else [c for c in all_chans if exp["device_of"][c] in dev]
            self.ok(got_ch == want_ch, "%s: variable channel lists %d channels (expected %d)"
                    % (where, len(got_ch), len(want_ch)))
            keep = set(want_ch) if chan == "$__all" else set(chan)
            for pid, unit in ((1, "V"), (2, "W")):
                want = [c for c in exp["channels"].get(unit, []) if c in keep]
                res = self.run("%s panel %d" % (where, pid), panels[pid]["targets"][0]["query"], rng, vs,
                               panels[pid]["targets"][0])
                self.timeseries("%s panel %d (%s)" % (where, pid, panels[pid]["title"]), res, unit, want, "mean")
            want = [c for c in exp["energy_kwh"] if c in keep]
            res = self.run(where + " panel 3", panels[3]["targets"][0]["query"], rng, vs, panels[3]["targets"][0])
            series = self.timeseries("%s panel 3 (energy)" % where, res, "W", want, "integral")
            for s in series:
                cid = s["tags"]["channel_id"]
                col = "integral_%s_W" % cid
                got = [v for v in values_of(s, col) if v is not None] if col in s["columns"] else []
                ref = exp["energy_kwh"].get(cid)
                self.ok(len(got) == 1 and ref is not None and math.isclose(got[0], ref, rel_tol=1e-9, abs_tol=1e-9),
                        "%s: energy of %s %s kWh (computed from the files: %s kWh)" % (where, cid, got, ref))
            res = self.run(where + " panel 4", panels[4]["targets"][0]["query"], rng, vs, panels[4]["targets"][0])
            last = {s.get("tags", {}).get("device_master_sn"): values_of(s, "time")
                    for s in (res or {}).get("series", [])}
            # a device's newest row has a point of every channel: the selected ones say the same time
            want_last = {d: [t] for d, t in exp["last"].items() if dev == "$__all" or d in dev}
            self.ok(last == want_last, "%s: panel 4 (last data) %s (expected %s)" % (where, last, want_last))

    def monitoring(self, meta_db, companies):
        variables = {"datasource_uid": "influxql_meta", "query_language": "influxql", "meta_bucket": meta_db}
        d = json.loads(render.render_jinja(os.path.join(self.dashboards, "parser-monitoring.json.j2"),
                                           variables))
        now = int(datetime.datetime.now().timestamp() * 1000)
        rng = (now - 3600 * 1000, now + 60 * 1000)
        tv = d["templating"]["list"][0]
        vs = {"company": ("$__all", tv["allValue"])}
        got = self.variable("monitoring variable company", tv["query"], rng, vs)
        self.ok(got == sorted(companies), "monitoring: variable company lists %s (expected %s)"
                % (got, sorted(companies)))
        for p in d["panels"]:
            res = self.run("monitoring panel %d" % p["id"], p["targets"][0]["query"], rng, vs)
            series = (res or {}).get("series", [])
            n = sum(len(s["values"]) for s in series)
            self.ok(n > 0, "monitoring panel %d (%s): %d rows" % (p["id"], p["title"], n))


def main(argv):
    ap = argparse.ArgumentParser(prog="influxql.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("expect")
    e.add_argument("--data", required=True)
    e.add_argument("--company", required=True)
    c = sub.add_parser("check")
    c.add_argument("--url", required=True)
    c.add_argument("--user", required=True)
    c.add_argument("--company", required=True)
    c.add_argument("--data", required=True)
    c.add_argument("--meta-database")
    c.add_argument("--meta-user")
    c.add_argument("--companies", default="", help="comma-separated: the companies the monitoring lists")
    c.add_argument("--dashboards", default=os.path.join(ROOT, "dashboards"), help="the templates' folder")
    g = sub.add_parser("grafana")
    g.add_argument("--grafana", required=True)
    g.add_argument("--user", required=True)
    g.add_argument("--org", required=True)
    g.add_argument("--dashboard", required=True, help="the dashboard's uid")
    g.add_argument("--company", required=True)
    g.add_argument("--campaign", required=True)
    g.add_argument("--data", required=True)
    args = ap.parse_args(argv)
    try:
        exp = expect(args.data, args.company)
        if args.cmd == "expect":
            print(json.dumps(exp, indent=1, sort_keys=True))
            return 0
        if args.cmd == "grafana":
            if args.campaign not in exp:
                raise Failure("no campaign %r in %s/%s" % (args.campaign, args.data, args.company))
            gr = Grafana(args.grafana, args.user, os.environ.get("GRAFANA_USER_PASSWORD", ""), args.org)
            ck = Checker(gr, None, None)
            held = gr.call("GET", "/api/dashboards/uid/" + urllib.parse.quote(args.dashboard, safe=""))
            ck.campaign(args.company, args.campaign, exp[args.campaign], held["dashboard"])
            return 1 if ck.failed else 0
        ck = Checker(Influx(args.url, args.user, os.environ.get("INFLUXQL_PASSWORD", "")), args.company,
                     args.dashboards)
        for campaign, e_ in sorted(exp.items()):
            ck.campaign(args.company, campaign, e_)
        if args.meta_database:
            mk = Checker(Influx(args.url, args.meta_user, os.environ.get("INFLUXQL_META_PASSWORD", "")), None,
                         args.dashboards)
            mk.monitoring(args.meta_database, [x for x in args.companies.split(",") if x])
            ck.failed += mk.failed
        return 1 if ck.failed else 0
    except Failure as e:
        sys.stderr.write("influxql.py: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
