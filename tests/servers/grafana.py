#!/usr/bin/env python3
"""A stand-in for the Grafana HTTP API subset that Ansible playbooks use.

Python 3 standard library only. Tests start it on a free loopback port and stop
it themselves:

    grafana.py --port 0 --port-file PATH [--admin-user admin]
               [--admin-password PW] [--sa-token TOKEN] [--sa-role Admin]
               [--log PATH] [--version 12.4.5]

The admin password and the service-account token can also come from the
environment (GRAFANA_TEST_ADMIN_PASSWORD, GRAFANA_TEST_SA_TOKEN) so that they
do not show in `ps`. Without either, the password is "admin" and no token is
accepted. The server binds 127.0.0.1 (port 0: a free port chosen by the OS),
writes the port to --port-file (temp + rename) once listening, and exits
cleanly on SIGTERM or SIGINT. It never prints or logs passwords or tokens.

It stands for Grafana OSS 12.4 (compose.yaml pins 12.4.5; --version reports
it) through the legacy /api that Grafana 11.6 to 13 keep; API keys are gone
since 12, --sa-token is a service account's token. Most behaviour was read
from Grafana 10.4's sources; the datasource health check, POST /api/ds/query
and the organization boundary (datasource reads for every member, a user
naming an organization it is not in) from Grafana 12's;
these endpoints were not compared version by version, nested folders stay
off. Settings modelled: RBAC on, auto_assign_org = true,
auto_assign_org_role = Viewer. From the sources (pkg/api,
pkg/services/{dashboards,folder,team,datasources,org,user}):
JSON shapes, status codes and messages, the Go JSON binding (a number sent as
a string, or "true" for a bool, is 400 "bad request data"), org scoping
(current org of a basic-auth user, POST /api/user/using/:id, the
X-Grafana-Org-Id header; a service-account token is bound to its org and
ignores the header), dashboard save rules (uid and version checks, same-slug
rules, "overwrite"), managed permissions (defaults on creation, replacement on
POST, inheritance from the folder), a team's creator becoming its admin
member, a user removed from its last org being deleted. Where this server
differs on purpose, the code says so ("test server:").

The organization boundary follows Grafana OSS 12.x (pkg/api/ds_query.go,
pkg/services/query, pkg/services/datasources/service, pkg/api/accesscontrol.go,
the user store's GetSignedInUser): folders, dashboards, teams and datasources
belong to one org; a user calling with X-Grafana-Org-Id of an org it is not a
member of is signed in with org -1 and no role (org-scoped calls: 403), and
POST /api/user/using/:id to such an org is 401 "Not a valid organization";
any member (Viewer included) reads every datasource of its org and queries it
through POST /api/ds/query (OSS has no datasource permissions), while a
datasource uid of another org is 404 "Data source not found".

Roles: the basic-auth admin is Grafana server admin and Admin of org 1 and of
every org it creates. The service account (--sa-token) is a member of org 1
with --sa-role and is not a server admin (server-admin endpoints answer 403,
as in Grafana). Viewers and editors only see the folders, dashboards and teams
their managed permissions or team memberships give them.

Endpoints (under the org of the caller unless marked [server admin]):
    GET  /api/health (no auth), /api/frontend/settings, /api/user,
         /api/user/orgs, /api/org; POST /api/user/using/:orgId
    orgs [server admin]: GET, POST /api/orgs; GET, PUT, DELETE /api/orgs/:id;
         GET /api/orgs/name/:name; GET, POST /api/orgs/:id/users;
         PATCH, DELETE /api/orgs/:id/users/:userId; and for the current org
         GET, POST /api/org/users, PATCH, DELETE /api/org/users/:userId
    users [server admin]: POST /api/admin/users; PUT
         /api/admin/users/:id/{password,permissions}; DELETE /api/admin/users/:id;
         GET /api/users/lookup, /api/users/search, /api/users; GET, PUT /api/users/:id
    teams: GET /api/teams/search; POST /api/teams; GET, PUT, DELETE
         /api/teams/:id; GET, POST /api/teams/:id/members; DELETE
         /api/teams/:id/members/:userId
    folders: GET, POST /api/folders; GET, PUT, DELETE /api/folders/:uid;
         GET /api/folders/id/:id; GET, POST /api/folders/:uid/permissions
    dashboards: POST /api/dashboards/db; GET, DELETE /api/dashboards/uid/:uid;
         GET, POST /api/dashboards/uid/:uid/permissions; GET /api/search
         (query, type, folderIds, folderUIDs, dashboardUIDs, dashboardIds,
         tag, limit, page)
    datasources: GET, POST /api/datasources; GET, PUT, DELETE
         /api/datasources/:id and /api/datasources/uid/:uid; GET, DELETE
         /api/datasources/name/:name; GET /api/datasources/id/:name.
         secureJsonData is never returned, only secureJsonFields. Reads:
         any member of the org; writes: Admin.
    datasource health: GET /api/datasources/uid/:uid/health and
         /api/datasources/:id/health (the InfluxDB plugin's check, made for
         real against the datasource's URL with its stored credentials)
    queries: POST /api/ds/query ({from, to, queries: [{refId, datasource:
         {uid}, query, ...}]}): InfluxDB datasources of the caller's org are
         queried for real (InfluxQL: <url>/query with the datasource's user
         or basic-auth credentials; Flux: <url>/api/v2/query with its token),
         answered {"results": {refId: {"status", "frames"} or {"error"}}}

Control API (no auth):
    GET    /__test/requests   request log: seq, method, path, query, status,
                              org, auth kind (basic, bearer, none, invalid),
                              user login, X-Grafana-Org-Id, JSON body with
                              secret-looking keys redacted; never a password
                              or token
    DELETE /__test/requests   clear the request log
    POST   /__test/reset      back to the initial state (org 1, admin, service
                              account; log and faults cleared)
    GET    /__test/state      every org, user (password_set, password_sha256),
                              team with members, folder and dashboard with
                              managed permissions (dashboards also with their
                              panel queries and template variables), and
                              datasource (secure_sha256 and, for tests only,
                              secret_for_tests with the stored values);
                              ?org=N limits org-scoped objects to org N
    POST   /__test/faults     {"path": prefix, "method"?, "status", "body"?,
                              "times"? (default 1, -1 = until reset), "after"? (N
                              matching requests pass first)} queued answers for
                              matching API requests (stand_in.take_fault)
    GET    /__test/faults     the queued faults
"""

import argparse
import base64
import calendar
import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import stand_in

DEFAULT_VERSION = "12.4.5"
COMMIT = "0000000000"   # test server: no real build commit
JSON_CT = "application/json"

ROLES = ("None", "Viewer", "Editor", "Admin")
ROLE_RANK = {"None": 0, "Viewer": 1, "Editor": 2, "Admin": 3}
PERM_NAMES = {1: "View", 2: "Edit", 4: "Admin"}
UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
MAX_UID = 40
EPOCH0 = "0001-01-01T00:00:00Z"

# keys whose values the request log never keeps
SECRET_KEY_RE = re.compile(r"pass|secret|token|securejson|apikey|api_key|key$", re.I)

# stock datasource plugins of Grafana OSS: type -> (name, small logo)
PLUGINS = {
    "influxdb": ("InfluxDB", "public/app/plugins/datasource/influxdb/img/influxdb_logo.svg"),
    "prometheus": ("Prometheus", "public/app/plugins/datasource/prometheus/img/prometheus_logo.svg"),
    "grafana-testdata-datasource": ("TestData", "public/app/plugins/datasource/grafana-testdata-datasource/img/testdata.svg"),
    "loki": ("Loki", "public/app/plugins/datasource/loki/img/loki_icon.svg"),
    "postgres": ("PostgreSQL", "public/app/plugins/datasource/grafana-postgresql-datasource/img/postgresql_logo.svg"),
    "mysql": ("MySQL", "public/app/plugins/datasource/mysql/img/mysql_logo.svg"),
}
UNKNOWN_PLUGIN_LOGO = "public/img/icn-datasource.svg"


class ApiError(Exception):
    """A Grafana error answer."""

    def __init__(self, http_status, message, **extra):
        super().__init__(message)
        self.status = http_status
        self.body = {"message": message}
        self.body.update(extra)


def bad_request():
    return ApiError(400, "bad request data")


def auth_error(message, message_id, extra_null=False):
    """401 with errutil's public payload (a Go map: sorted keys)."""
    e = ApiError(401, message)
    e.body = {"message": message, "messageId": message_id, "statusCode": 401, "traceID": ""}
    if extra_null:
        e.body = dict({"extra": None}, **e.body)
    return e


def denied(action):
    # accesscontrol middleware deny()
    return ApiError(403, "You'll need additional permissions to perform this action. "
                    "Permissions needed: %s" % action,
                    accessErrorId="ACE%010d" % secrets.randbelow(10 ** 10),
                    title="Access denied")


# ---------------------------------------------------------------- helpers

def go_json(obj, indent=None):
    """JSON as Go's encoding/json writes it (HTML characters escaped)."""
    if indent:
        s = json.dumps(obj, ensure_ascii=False, indent=indent)
    else:
        s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s


def sorted_json(v):
    """Go marshals map[string]interface{} (simplejson) with sorted keys."""
    if isinstance(v, dict):
        return {k: sorted_json(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sorted_json(x) for x in v]
    return v


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def sha256(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def md5(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def gravatar(email):
    # dtos.GetGravatarUrl
    return "/avatar/" + md5(email.lower()) if email else ""


def gravatar_default(text, default_text):
    # dtos.GetGravatarUrlWithDefault
    if text:
        return gravatar(text)
    return gravatar(re.sub(r"[^a-zA-Z0-9]+", "", default_text) + "@localhost")


def new_short_uid():
    # util.GenerateShortUID (10.x): 14 characters, a letter first
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return secrets.choice("abcdef") + "".join(secrets.choice(alphabet) for _ in range(13))


def slugify(title):
    """gosimple/slug Make(lower(title)) with the "en" substitutions, as
    dashboards.SlugifyTitle; empty slugs become base64 of the title."""
    s = title.lower()
    for a, b in (("&", "and"), ("@", "at"), ('"', ""), ("'", ""), ("\u2019", ""),
                 ("\u2012", "-"), ("\u2013", "-"), ("\u2014", "-"), ("\u2015", "-")):
        s = s.replace(a, b)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9\-_]", "-", s)
    s = re.sub(r"-+", "-", s).strip("-_")
    if not s:
        s = base64.urlsafe_b64encode(title.encode("utf-8")).decode("ascii").rstrip("=")
    return s


def role_of_text(v):
    """org.RoleType.UnmarshalText: title-cased; "" becomes Viewer."""
    s = v[:1].upper() + v[1:].lower() if v else ""
    if s in ROLES:
        return s
    if s == "":
        return "Viewer"
    raise bad_request()


def redact(v):
    if isinstance(v, dict):
        return {k: ("<redacted>" if SECRET_KEY_RE.search(k) else redact(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [redact(x) for x in v]
    return v


# ---------------------------------------------------------------- Go-style JSON binding

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def parse_body(body):
    """json.Decoder.Decode on the body: empty means "no fields"."""
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise bad_request() from None


def bind(body, spec):
    """web.Bind into a Go struct.

    spec: list of (json name, kind, required). Kinds: int, str, bool, any,
    strmap (map[string]string), role (org.RoleType), role? (*org.RoleType),
    items (dashboard ACL items). Keys match case-insensitively, as
    encoding/json does; unknown keys are ignored; a wrong JSON type is an
    error; "required" (binding:"Required") rejects zero values."""
    data = parse_body(body)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad_request()
    out = {}
    for name, kind, required in spec:
        key = name if name in data else next((k for k in data if k.lower() == name.lower()), None)
        v = data.get(key) if key is not None else None
        out[name] = conv(v, kind)
        if required and (out[name] is None if kind == "any" else out[name] in (0, "", None, False)):
            raise bad_request()
    return out


def conv(v, kind):
    if kind == "any":
        return v
    if kind == "int":
        if v is None:
            return 0
        if isinstance(v, bool) or not isinstance(v, int) or not INT64_MIN <= v <= INT64_MAX:
            raise bad_request()
        return v
    if kind == "str":
        if v is None:
            return ""
        if not isinstance(v, str):
            raise bad_request()
        return v
    if kind == "bool":
        if v is None:
            return False
        if not isinstance(v, bool):
            raise bad_request()
        return v
    if kind == "strmap":
        if v is None:
            return {}
        if not isinstance(v, dict) or not all(x is None or isinstance(x, str) for x in v.values()):
            raise bad_request()
        return {k: x or "" for k, x in v.items()}
    if kind == "role":
        if v is None:
            return ""
        if not isinstance(v, str):
            raise bad_request()
        return role_of_text(v)
    if kind == "role?":
        if v is None:
            return None
        if not isinstance(v, str):
            raise bad_request()
        return role_of_text(v)
    if kind == "items":
        if v is None:
            return []
        if not isinstance(v, list):
            raise bad_request()
        items = []
        for it in v:
            if it is None:
                it = {}
            if not isinstance(it, dict):
                raise bad_request()
            item = {}
            for name, k in (("userId", "int"), ("teamId", "int"), ("role", "role?"), ("permission", "int")):
                key = name if name in it else next((x for x in it if x.lower() == name.lower()), None)
                item[name] = conv(it.get(key) if key is not None else None, k)
            items.append(item)
        return items
    raise AssertionError(kind)


def qint(q, name, default=0):
    """c.QueryInt: 0 (or the default) when absent or not a number."""
    vals = q.get(name)
    if not vals:
        return default
    try:
        return int(vals[0])
    except ValueError:
        return default


def qstr(q, name):
    vals = q.get(name)
    return vals[0] if vals else ""


def qlist(q, name):
    """Repeated or comma-separated values (?x=1&x=2 or ?x=1,2)."""
    out = []
    for v in q.get(name, []):
        out.extend(p for p in v.split(",") if p != "")
    return out


# ---------------------------------------------------------------- state

class Ctx:
    """The signed-in identity of a request."""

    def __init__(self, user, kind, org_id, role):
        self.user = user            # user row (the service account is a user row too)
        self.kind = kind            # "basic" | "bearer"
        self.org_id = org_id
        self.role = role            # role in org_id, or None when not a member
        self.teams = set()

    @property
    def server_admin(self):
        return bool(self.user["isGrafanaAdmin"]) and not self.user["isServiceAccount"]

    @property
    def real_user(self):
        return not self.user["isServiceAccount"]


class State:
    def __init__(self, admin_user, admin_password, sa_token, sa_role):
        self.lock = threading.RLock()
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.sa_token = sa_token
        self.sa_role = sa_role
        self.requests = []
        self.faults = []
        self.reset()

    def reset(self):
        with self.lock:
            t = now_iso()
            self.seq = {"org": 1, "user": 0, "team": 0, "dash": 0, "ds": 0, "req": 0}
            self.orgs = {1: {"id": 1, "name": "Main Org.", "created": t, "updated": t}}
            self.users = {}
            self.org_users = {}      # (org_id, user_id) -> role
            self.teams = {}
            self.team_members = {}   # team id -> {user id: permission (0 member, 4 admin)}
            self.dashes = {}         # folders and dashboards share ids, as in the dashboard table
            self.perms = {}          # (org_id, "folders"|"dashboards", uid) -> list of grants
            self.datasources = {}
            self.tokens = {}         # token -> user id
            self.requests = []
            self.faults = []
            admin = self.add_user(self.admin_user, "admin@localhost", "", self.admin_password, 1,
                                  "Admin", is_admin=True)
            self.admin_id = admin["id"]
            sa = self.add_user("sa-ansible", "sa-ansible", "ansible", None, 1, self.sa_role,
                               is_sa=True)
            self.sa_id = sa["id"]
            if self.sa_token:
                self.tokens[self.sa_token] = sa["id"]

    def next_id(self, kind):
        self.seq[kind] += 1
        return self.seq[kind]

    # -- users and orgs
    def add_user(self, login, email, name, password, org_id, role, is_admin=False, is_sa=False):
        uid = self.next_id("user")
        t = now_iso()
        u = {"id": uid, "uid": new_short_uid(), "login": login, "email": email, "name": name,
             "password": password, "isGrafanaAdmin": is_admin, "isDisabled": False,
             "isServiceAccount": is_sa, "orgId": org_id, "theme": "", "created": t, "updated": t}
        self.users[uid] = u
        if org_id:
            self.org_users[(org_id, uid)] = role
        return u

    def user_by_login_or_email(self, s):
        s = s.lower()
        for u in self.users.values():
            if not u["isServiceAccount"] and (u["login"].lower() == s or u["email"].lower() == s):
                return u
        return None

    def org_role(self, org_id, user_id):
        return self.org_users.get((org_id, user_id))

    def user_orgs(self, user_id):
        return sorted(o for (o, u) in self.org_users if u == user_id)

    def team_ids_of(self, user_id, org_id):
        return {tid for tid, m in self.team_members.items()
                if user_id in m and self.teams[tid]["orgId"] == org_id}

    def org_by_name(self, name):
        for o in self.orgs.values():
            if o["name"] == name:
                return o
        return None

    def remove_org_user(self, org_id, user_id, delete_orphan):
        """orgService.RemoveOrgUser; returns True when the user was deleted."""
        role = self.org_users.get((org_id, user_id))
        if role is None:
            raise ApiError(500, "Failed to remove user from organization")
        if role == "Admin" and sum(1 for (o, u), r in self.org_users.items()
                                   if o == org_id and r == "Admin") <= 1:
            raise ApiError(400, "Cannot remove last organization admin")
        del self.org_users[(org_id, user_id)]
        self.drop_user_grants(user_id, org_id)
        for tid in [t for t in self.team_members if self.teams[t]["orgId"] == org_id]:
            self.team_members[tid].pop(user_id, None)
        left = self.user_orgs(user_id)
        if not left and delete_orphan:
            self.delete_user(user_id)
            return True
        u = self.users[user_id]
        if u["orgId"] == org_id:
            u["orgId"] = left[0] if left else 0
        return False

    def delete_user(self, user_id):
        self.users.pop(user_id, None)
        for k in [k for k in self.org_users if k[1] == user_id]:
            del self.org_users[k]
        for m in self.team_members.values():
            m.pop(user_id, None)
        self.drop_user_grants(user_id, None)
        for t in [t for t, u in self.tokens.items() if u == user_id]:
            del self.tokens[t]

    def drop_user_grants(self, user_id, org_id):
        for key, grants in self.perms.items():
            if org_id is None or key[0] == org_id:
                grants[:] = [g for g in grants if g.get("userId") != user_id]

    def delete_org(self, org_id):
        self.orgs.pop(org_id, None)
        for tid in [t for t, v in self.teams.items() if v["orgId"] == org_id]:
            self.teams.pop(tid)
            self.team_members.pop(tid, None)
        for did in [d for d, v in self.dashes.items() if v["orgId"] == org_id]:
            self.dashes.pop(did)
        for k in [k for k in self.perms if k[0] == org_id]:
            del self.perms[k]
        for i in [i for i, v in self.datasources.items() if v["orgId"] == org_id]:
            self.datasources.pop(i)
        for k in [k for k in self.org_users if k[0] == org_id]:
            del self.org_users[k]
        for u in self.users.values():
            if u["orgId"] == org_id:
                left = self.user_orgs(u["id"])
                u["orgId"] = left[0] if left else 0

    # -- dashboards and folders
    def dash_by_uid(self, org_id, uid, folder=None):
        for d in self.dashes.values():
            if d["orgId"] == org_id and d["uid"] == uid and (folder is None or d["isFolder"] == folder):
                return d
        return None

    def folder_by_id(self, org_id, fid):
        d = self.dashes.get(fid)
        if d and d["orgId"] == org_id and d["isFolder"]:
            return d
        return None

    def grants(self, d):
        return self.perms.setdefault(
            (d["orgId"], "folders" if d["isFolder"] else "dashboards", d["uid"]), [])

    def delete_dash(self, d):
        self.dashes.pop(d["id"], None)
        self.perms.pop((d["orgId"], "folders" if d["isFolder"] else "dashboards", d["uid"]), None)

    def effective(self, ctx, d):
        """Best permission (0, 1 View, 2 Edit, 4 Admin) of ctx on a folder or
        dashboard; a dashboard also gets its folder's grants."""
        if ctx.role == "Admin":
            return 4
        if ctx.role is None:
            return 0
        rows = list(self.grants(d))
        if not d["isFolder"] and d["folderId"]:
            f = self.dashes.get(d["folderId"])
            if f:
                rows += self.grants(f)
        best = 0
        for g in rows:
            if (g.get("userId") and g["userId"] == ctx.user["id"]) or \
                    (g.get("teamId") and g["teamId"] in ctx.teams) or \
                    (g.get("role") and ROLE_RANK[ctx.role] >= ROLE_RANK[g["role"]]):
                best = max(best, g["permission"])
        return best

    # -- log and faults
    def log_request(self, rec):
        with self.lock:
            self.seq["req"] += 1
            rec["seq"] = self.seq["req"]
            self.requests.append(rec)

    def take_fault(self, method, path):
        with self.lock:
            return stand_in.take_fault(self.faults, method, path)


# ---------------------------------------------------------------- datasource queries
# What POST /api/ds/query runs for a datasource of the caller's org (see
# Api.ds_query). Grafana 12.x's InfluxDB plugin (pkg/tsdb/influxdb): InfluxQL
# sends GET (or, httpMode POST, a form) <url>/query?db=&epoch=ms&q=, with
# HTTP basic auth from basicAuthUser/basicAuthPassword when basicAuth is on,
# else from user/password (the datasource HTTP client options); Flux POSTs
# JSON to <url>/api/v2/query?org=<organization> with "Authorization: Token".
# Frames are kept simple (test server): one per InfluxQL series or Flux
# table, fields with a name, a type (time, number, string, boolean), labels,
# and the rows' values column by column.

DS_QUERY_TIMEOUT = 30


def errutil_error(status, message_id, public):
    """An errutil error as Grafana's API writes it (a Go map: sorted keys)."""
    e = ApiError(status, public)
    e.body = {"message": public, "messageId": message_id, "statusCode": status, "traceID": ""}
    return e


DURATION_UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000,
                  "M": 2592000000, "y": 31536000000}


def parse_grafana_time(v):
    """gtime.NewTimeRange: "now", "now-<n><unit>" or epoch milliseconds; ms or None."""
    now = int(time.time() * 1000)
    if v == "now":
        return now
    m = re.fullmatch(r"now-(\d+)(ms|s|m|h|d|w|M|y)", v)
    if m:
        return now - int(m.group(1)) * DURATION_UNITS[m.group(2)]
    if re.fullmatch(r"\d{1,16}", v):
        return int(v)
    return None


def format_interval(ms):
    """gtime.FormatInterval: the largest whole unit (1d, 5m, 10s, 100ms)."""
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return "%d%s" % (ms // size, unit)
    return "%dms" % max(ms, 1)


def query_interval_ms(tq, t_from, t_to):
    """The query's intervalMs, else the range over maxDataPoints (test server)."""
    iv = tq.get("intervalMs")
    if isinstance(iv, (int, float)) and not isinstance(iv, bool) and iv > 0:
        return int(iv)
    mdp = tq.get("maxDataPoints")
    mdp = int(mdp) if isinstance(mdp, (int, float)) and not isinstance(mdp, bool) and mdp > 0 else 1000
    return max((t_to - t_from) // mdp, 1)


def http_call(method, url, headers, data):
    """(status, body bytes) of a downstream call; (0, reason) when unreachable.
    test server: made while the state lock is held (other requests wait)."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=DS_QUERY_TIMEOUT) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(getattr(e, "reason", e)).encode("utf-8", "replace")


def downstream_error(status, text):
    return {"error": text, "errorSource": "downstream", "status": status or 500}


def run_datasource_query(ds, ref, tq, t_from, t_to):
    if ds["type"] != "influxdb":
        return {"error": "test server: plugin %s is not run" % ds["type"], "status": 500}
    jd = ds["jsonData"] or {}
    if jd.get("version") == "Flux":
        return run_flux(ds, ref, tq, t_from, t_to)
    if jd.get("version") in (None, "", "InfluxQL"):
        return run_influxql(ds, ref, tq, t_from, t_to)
    return {"error": "test server: InfluxDB query language %r is not run" % jd.get("version"), "status": 500}


def influxql_request(ds, q):
    """(method, url, body, headers) of an InfluxQL query as the plugin sends it:
    GET <url>/query?...&q=, or with httpMode POST a form; HTTP basic auth from
    basicAuth/basicAuthUser, else user/password (the plugin SDK's
    HTTPClientOptions); the custom headers jsonData.httpHeaderNameN /
    secureJsonData.httpHeaderValueN (an InfluxDB 2 token: "Token ...")."""
    jd, sec = ds["jsonData"] or {}, ds["secure"]
    mode = jd.get("httpMode") or "GET"
    headers = {"User-Agent": "Grafana"}
    if ds["basicAuth"]:
        user, pw = ds["basicAuthUser"], sec.get("basicAuthPassword", "")
    else:
        user, pw = ds["user"], sec.get("password", "")
    if ds["basicAuth"] or user:
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
    for k, v in jd.items():
        m = re.fullmatch(r"httpHeaderName(\d+)", k)
        if m and isinstance(v, str) and v:
            headers[v] = sec.get("httpHeaderValue" + m.group(1), "")
    # the database: jsonData.dbName (Grafana 9+) or the older top-level database
    params = {"db": ds["database"] or jd.get("dbName") or "", "epoch": "ms"}
    base = ds["url"].rstrip("/") + "/query?"
    if mode == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return "POST", base + urlencode(params), urlencode({"q": q}).encode(), headers
    return mode, base + urlencode(dict(params, q=q)), None, headers


def run_influxql(ds, ref, tq, t_from, t_to):
    text = tq.get("query")
    if not isinstance(text, str) or not tq.get("rawQuery", True):
        # test server: the query builder's model is not turned into InfluxQL
        return {"error": "test server: only raw InfluxQL queries (rawQuery, query) are run", "status": 400}
    iv = query_interval_ms(tq, t_from, t_to)
    # influxql/query.go: $timeFilter with the absolute range in ms, intervals
    # formatted as gtime does
    for k, v in (("$timeFilter", "time >= %dms and time <= %dms" % (t_from, t_to)),
                 ("$__interval_ms", str(iv)), ("$__interval", format_interval(iv)),
                 ("$interval", format_interval(iv))):
        text = text.replace(k, v)
    method, url, data, headers = influxql_request(ds, text)
    status, raw = http_call(method, url, headers, data)
    if status != 200:
        return downstream_error(status, "InfluxDB returned error: %s" % raw.decode("utf-8", "replace")[:300])
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return downstream_error(status, "InfluxDB answer is not JSON")
    frames = []
    for res in answer.get("results") or []:
        if res.get("error"):
            return downstream_error(400, "InfluxDB returned error: %s" % res["error"])
        for series in res.get("series") or []:
            cols = series.get("columns") or []
            rows = series.get("values") or []
            fields = []
            for j, c in enumerate(cols):
                vals = [r[j] if j < len(r) else None for r in rows]
                kind = "time" if c == "time" else value_kind(vals)
                f = {"name": "Time" if c == "time" else c, "type": kind}
                if c != "time" and series.get("tags"):
                    f["labels"] = series["tags"]
                fields.append((f, vals))
            frames.append(frame(ref, series.get("name", ""), fields))
    return {"status": 200, "frames": frames}


def value_kind(vals):
    for v in vals:
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, str):
            return "string"
    return "number"


def frame(ref, name, fields):
    return {"schema": {"name": name, "refId": ref, "fields": [f for f, _ in fields]},
            "data": {"values": [v for _, v in fields]}}


def iso_ms(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def run_flux(ds, ref, tq, t_from, t_to):
    text = tq.get("query")
    if not isinstance(text, str):
        return {"error": "test server: a Flux query needs its text (query)", "status": 400}
    jd = ds["jsonData"] or {}
    iv = query_interval_ms(tq, t_from, t_to)
    # flux/macros.go: v.timeRangeStart/Stop as RFC3339 times, v.windowPeriod as
    # a duration, v.defaultBucket and v.organization as strings
    for k, v in (("v.timeRangeStart", iso_ms(t_from)), ("v.timeRangeStop", iso_ms(t_to)),
                 ("v.windowPeriod", format_interval(iv)),
                 ("v.defaultBucket", json.dumps(jd.get("defaultBucket", ""))),
                 ("v.organization", json.dumps(jd.get("organization", "")))):
        text = text.replace(k, v)
    headers = {"User-Agent": "Grafana", "Content-Type": "application/json",
               "Authorization": "Token " + ds["secure"].get("token", "")}
    body = {"query": text, "type": "flux",
            "dialect": {"header": True, "delimiter": ",", "annotations": ["datatype", "group", "default"]}}
    url = ds["url"].rstrip("/") + "/api/v2/query?" + urlencode({"org": jd.get("organization", "")})
    status, raw = http_call("POST", url, headers, json.dumps(body).encode())
    if status != 200:
        return downstream_error(status, "InfluxDB returned error: %s" % raw.decode("utf-8", "replace")[:300])
    return {"status": 200, "frames": flux_frames(ref, raw.decode("utf-8", "replace"))}


def flux_frames(ref, text):
    """Annotated CSV (datatype, group, default; a blank line between tables'
    blocks) to one frame per table."""
    tables = {}
    types, cols = [], []
    for row in csv.reader(io.StringIO(text)):
        if not row or all(c == "" for c in row):
            types, cols = [], []
            continue
        if row[0] == "#datatype":
            types = row
            continue
        if row[0].startswith("#"):
            continue
        if not cols:
            cols = row
            continue
        rec = dict(zip(cols, row))
        tid = rec.get("table", "0")
        t = tables.setdefault(tid, {"cols": cols, "types": types, "rows": []})
        t["rows"].append(row)
    frames = []
    for tid in sorted(tables, key=lambda x: int(x) if x.isdigit() else 0):
        t = tables[tid]
        fields = []
        for j, c in enumerate(t["cols"]):
            if j == 0 or c in ("result", "table"):
                continue
            typ = t["types"][j] if j < len(t["types"]) else "string"
            vals = [conv_flux(r[j] if j < len(r) else "", typ) for r in t["rows"]]
            kind = ("time" if typ.startswith("dateTime") else
                    "number" if typ in ("long", "unsignedLong", "double") else
                    "boolean" if typ == "boolean" else "string")
            fields.append(({"name": c, "type": kind}, vals))
        frames.append(frame(ref, "", fields))
    return frames


def conv_flux(v, typ):
    if v == "":
        return None
    try:
        if typ in ("long", "unsignedLong"):
            return int(v)
        if typ == "double":
            return float(v)
        if typ == "boolean":
            return v == "true"
        if typ.startswith("dateTime"):
            m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", v)
            if m:
                base = int(calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))) * 1000
                return base + int((m.group(2) or "0")[:3].ljust(3, "0"))
    except ValueError:
        pass
    return v


# ---------------------------------------------------------------- the API

ROUTES = []
# route function name -> the RBAC action its authorize() checks (the 403 text)
ROUTE_ACTIONS = {}


def route(method, pattern, scope="org", action=None):
    """scope: "public" (no auth), "signed" (any signed-in identity),
    "org" (a member of the request's org), "server" (Grafana server admin).
    action: the RBAC action named when a non-member is refused."""
    rx = re.compile("^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", pattern) + "$")

    def deco(fn):
        ROUTES.append((method, rx, fn, scope))
        if action:
            ROUTE_ACTIONS[fn.__name__] = action
        return fn
    return deco


class Api:
    def __init__(self, state, version):
        self.st = state
        self.version = version

    # ------------------------------------------------------------ DTOs
    def user_profile(self, u):
        return {"id": u["id"], "uid": u["uid"], "email": u["email"], "name": u["name"],
                "login": u["login"], "theme": u["theme"], "orgId": u["orgId"],
                "isGrafanaAdmin": u["isGrafanaAdmin"], "isDisabled": u["isDisabled"],
                "isExternal": False, "isExternallySynced": False,
                "isGrafanaAdminExternallySynced": False, "authLabels": [],
                "updatedAt": u["updated"], "createdAt": u["created"],
                "avatarUrl": gravatar(u["email"])}

    def team_dto(self, t):
        return {"id": t["id"], "uid": t["uid"], "orgId": t["orgId"], "name": t["name"],
                "email": t["email"], "avatarUrl": gravatar_default(t["email"], t["name"]),
                "memberCount": len(self.st.team_members.get(t["id"], {})), "permission": 0,
                "accessControl": None}

    def folder_dto(self, ctx, f):
        p = self.st.effective(ctx, f)
        return {"id": f["id"], "uid": f["uid"], "orgId": f["orgId"], "title": f["title"],
                "url": "/dashboards/f/%s/%s" % (f["uid"], f["slug"]), "hasAcl": False,
                "canSave": p >= 2, "canEdit": p >= 2, "canAdmin": p >= 4, "canDelete": p >= 2,
                "createdBy": self.login_of(f["createdBy"]), "created": f["created"],
                "updatedBy": self.login_of(f["updatedBy"]), "updated": f["updated"],
                "version": f["version"]}

    def login_of(self, uid):
        u = self.st.users.get(uid)
        return u["login"] if u else "Anonymous"

    def ds_dto(self, ds):
        plugin = PLUGINS.get(ds["type"])
        return {"id": ds["id"], "uid": ds["uid"], "orgId": ds["orgId"], "name": ds["name"],
                "type": ds["type"],
                "typeLogoUrl": plugin[1] if plugin else UNKNOWN_PLUGIN_LOGO,
                "access": ds["access"], "url": ds["url"], "user": ds["user"],
                "database": ds["database"], "basicAuth": ds["basicAuth"],
                "basicAuthUser": ds["basicAuthUser"], "withCredentials": ds["withCredentials"],
                "isDefault": ds["isDefault"], "jsonData": sorted_json(ds["jsonData"]),
                "secureJsonFields": {k: True for k in sorted(ds["secure"]) if ds["secure"][k]},
                "version": ds["version"], "readOnly": False}

    def ds_list_item(self, ds):
        plugin = PLUGINS.get(ds["type"])
        return {"id": ds["id"], "uid": ds["uid"], "orgId": ds["orgId"], "name": ds["name"],
                "type": ds["type"], "typeName": plugin[0] if plugin else ds["type"],
                "typeLogoUrl": plugin[1] if plugin else UNKNOWN_PLUGIN_LOGO,
                "access": ds["access"], "url": ds["url"], "user": ds["user"],
                "database": ds["database"], "basicAuth": ds["basicAuth"],
                "isDefault": ds["isDefault"], "jsonData": sorted_json(ds["jsonData"]),
                "readOnly": False}

    def acl_dto(self, g, d, inherited_from=None):
        """dashboards.DashboardACLInfoDTO of a managed permission."""
        u = self.st.users.get(g.get("userId") or -1)
        t = self.st.teams.get(g.get("teamId") or -1)
        item = {}
        if d["isFolder"]:
            item["folderId"] = d["id"]
        else:
            item["dashboardId"] = d["id"]
            if d["folderId"]:
                item["folderUid"] = self.st.dashes[d["folderId"]]["uid"]
        item.update({
            "created": g["created"], "updated": g["updated"],
            "userId": g.get("userId") or 0, "userUid": u["uid"] if u else "",
            "userLogin": u["login"] if u else "", "userEmail": u["email"] if u else "",
            "userAvatarUrl": gravatar(u["email"]) if u else gravatar(""),
            "teamId": g.get("teamId") or 0, "teamUid": t["uid"] if t else "",
            "teamEmail": t["email"] if t else "",
            "teamAvatarUrl": gravatar_default(t["email"], t["name"]) if t else "",
            "team": t["name"] if t else ""})
        if g.get("role"):
            item["role"] = g["role"]
        item.update({
            "permission": g["permission"], "permissionName": PERM_NAMES[g["permission"]],
            "uid": d["uid"], "title": d["title"], "slug": "" if d["isFolder"] else d["slug"],
            "isFolder": d["isFolder"],
            "url": ("/dashboards/f/%s/%s" if d["isFolder"] else "/d/%s/%s") % (d["uid"], d["slug"]),
            "inherited": inherited_from is not None})
        return item

    # ------------------------------------------------------------ helpers
    def require_role(self, ctx, minimum, action):
        if ctx.role is None or ROLE_RANK[ctx.role] < ROLE_RANK[minimum]:
            raise denied(action)

    def ds_get(self, ctx, by, key):
        for ds in self.st.datasources.values():
            if ds["orgId"] != ctx.org_id:
                continue
            if (by == "id" and str(ds["id"]) == key) or (by == "uid" and ds["uid"] == key) or \
                    (by == "name" and ds["name"] == key):
                return ds
        return None

    def team_get(self, ctx, tid):
        try:
            t = self.st.teams.get(int(tid))
        except ValueError:
            raise ApiError(400, "teamId is invalid") from None
        if t is None or t["orgId"] != ctx.org_id:
            return None
        return t

    def visible_team(self, ctx, t):
        return ctx.role == "Admin" or t["id"] in ctx.teams

    # ------------------------------------------------------------ health, settings, user
    @route("GET", "/api/health", "public")
    def health(self, ctx, p, q, body):
        # simplejson EncodePretty: sorted keys, two-space indent
        return 200, {"commit": COMMIT, "database": "ok", "version": self.version}, "  "

    @route("GET", "/api/frontend/settings", "signed")
    def frontend_settings(self, ctx, p, q, body):
        ds = {}
        for d in self.st.datasources.values():
            if d["orgId"] == ctx.org_id:
                ds[d["name"]] = {"id": d["id"], "uid": d["uid"], "type": d["type"], "name": d["name"],
                                 "url": "/api/datasources/proxy/uid/" + d["uid"],
                                 "isDefault": d["isDefault"], "access": d["access"],
                                 "jsonData": sorted_json(d["jsonData"])}
        return 200, {"appUrl": "http://localhost:3000/", "appSubUrl": "",
                     "buildInfo": {"buildstamp": 0, "commit": COMMIT, "edition": "Open Source",
                                   "env": "production", "hasUpdate": False, "hideVersion": False,
                                   "latestVersion": "", "version": self.version,
                                   "versionString": "Grafana v%s (%s)" % (self.version, COMMIT)},
                     "datasources": ds, "defaultDatasource": "", "featureToggles": {}}

    @route("GET", "/api/user", "signed")
    def current_user(self, ctx, p, q, body):
        prof = self.user_profile(ctx.user)
        prof["orgId"] = ctx.org_id
        return 200, prof

    @route("GET", "/api/user/orgs", "signed")
    def current_user_orgs(self, ctx, p, q, body):
        return 200, [{"orgId": o, "name": self.st.orgs[o]["name"],
                      "role": self.st.org_role(o, ctx.user["id"])}
                     for o in self.st.user_orgs(ctx.user["id"]) if o in self.st.orgs]

    @route("POST", "/api/user/using/:orgId", "signed")
    def user_using(self, ctx, p, q, body):
        try:
            oid = int(p["orgId"])
        except ValueError:
            raise ApiError(400, "id is invalid") from None
        if self.st.org_role(oid, ctx.user["id"]) is None or oid not in self.st.orgs:
            raise ApiError(401, "Not a valid organization")
        # test server: a service account keeps org 1 (its only membership)
        ctx.user["orgId"] = oid
        return 200, {"message": "Active organization changed"}

    # ------------------------------------------------------------ orgs
    def org_dto(self, o):
        return {"id": o["id"], "name": o["name"],
                "address": {"address1": "", "address2": "", "city": "", "zipCode": "",
                            "state": "", "country": ""}}

    @route("GET", "/api/org")
    def current_org(self, ctx, p, q, body):
        return 200, self.org_dto(self.st.orgs[ctx.org_id])

    @route("GET", "/api/orgs", "server")
    def list_orgs(self, ctx, p, q, body):
        query = qstr(q, "query").lower()
        name = qstr(q, "name")
        perpage = qint(q, "perpage", 1000) or 1000
        page = max(qint(q, "page", 1), 1)
        rows = [o for o in sorted(self.st.orgs.values(), key=lambda o: o["name"])
                if (not query or query in o["name"].lower()) and (not name or o["name"] == name)]
        rows = rows[(page - 1) * perpage: page * perpage]
        return 200, [{"id": o["id"], "name": o["name"]} for o in rows]

    @route("POST", "/api/orgs", "signed")
    def create_org(self, ctx, p, q, body):
        if not ctx.server_admin:
            # test server: allow_org_create = false, as Grafana's default
            raise denied("orgs:create")
        cmd = bind(body, [("name", "str", True)])
        if self.st.org_by_name(cmd["name"]):
            raise ApiError(409, "Organization name taken")
        oid = self.st.next_id("org")
        t = now_iso()
        self.st.orgs[oid] = {"id": oid, "name": cmd["name"], "created": t, "updated": t}
        self.st.org_users[(oid, ctx.user["id"])] = "Admin"
        return 200, {"message": "Organization created", "orgId": oid}

    def org_or_404(self, oid):
        try:
            o = self.st.orgs.get(int(oid))
        except ValueError:
            raise ApiError(400, "orgId is invalid") from None
        if o is None:
            raise ApiError(404, "Organization not found")
        return o

    @route("GET", "/api/orgs/:orgId", "server")
    def get_org(self, ctx, p, q, body):
        return 200, self.org_dto(self.org_or_404(p["orgId"]))

    @route("GET", "/api/orgs/name/:name", "server")
    def get_org_by_name(self, ctx, p, q, body):
        o = self.st.org_by_name(p["name"])
        if o is None:
            raise ApiError(404, "Organization not found")
        return 200, self.org_dto(o)

    @route("PUT", "/api/orgs/:orgId", "server")
    def update_org(self, ctx, p, q, body):
        o = self.org_or_404(p["orgId"])
        cmd = bind(body, [("name", "str", True)])
        other = self.st.org_by_name(cmd["name"])
        if other and other is not o:
            raise ApiError(409, "Organization name taken")
        o["name"] = cmd["name"]
        o["updated"] = now_iso()
        return 200, {"message": "Organization updated"}

    @route("DELETE", "/api/orgs/:orgId", "server")
    def delete_org(self, ctx, p, q, body):
        o = self.org_or_404(p["orgId"])
        if o["id"] == ctx.org_id:
            raise ApiError(400, "Can not delete org for current user")
        self.st.delete_org(o["id"])
        return 200, {"message": "Organization deleted"}

    def org_users_dto(self, oid):
        rows = []
        for (o, uid), role in sorted(self.st.org_users.items(), key=lambda kv: kv[0][1]):
            u = self.st.users.get(uid)
            if o != oid or u is None or u["isServiceAccount"]:
                continue
            rows.append({"orgId": oid, "userId": uid, "userUid": u["uid"], "email": u["email"],
                         "name": u["name"], "avatarUrl": gravatar(u["email"]), "login": u["login"],
                         "role": role, "lastSeenAt": u["updated"], "lastSeenAtAge": "< 1 minute",
                         "authLabels": [], "isExternallySynced": False,
                         "isDisabled": u["isDisabled"]})
        return rows

    def add_org_user(self, oid, body):
        cmd = bind(body, [("loginOrEmail", "str", True), ("role", "role", True)])
        u = self.st.user_by_login_or_email(cmd["loginOrEmail"])
        if u is None:
            raise ApiError(404, "User not found")
        if (oid, u["id"]) in self.st.org_users:
            raise ApiError(409, "User is already member of this organization")
        self.st.org_users[(oid, u["id"])] = cmd["role"]
        if not u["orgId"]:
            u["orgId"] = oid
        return 200, {"message": "User added to organization", "userId": u["id"]}

    def patch_org_user(self, oid, user_id, body):
        cmd = bind(body, [("role", "role", True)])
        key = (oid, self.int_param(user_id, "userId"))
        if key not in self.st.org_users:
            raise ApiError(404, "User not found")
        if self.st.org_users[key] == "Admin" and cmd["role"] != "Admin" and \
                sum(1 for (o, _), r in self.st.org_users.items() if o == oid and r == "Admin") <= 1:
            raise ApiError(400, "Cannot change role so that there is no organization admin left")
        self.st.org_users[key] = cmd["role"]
        return 200, {"message": "Organization user updated"}

    def remove_org_user(self, oid, user_id):
        deleted = self.st.remove_org_user(oid, self.int_param(user_id, "userId"), True)
        return 200, {"message": "User deleted" if deleted else "User removed from organization"}

    @staticmethod
    def int_param(v, name):
        try:
            return int(v)
        except ValueError:
            raise ApiError(400, "%s is invalid" % name) from None

    @route("GET", "/api/orgs/:orgId/users", "server")
    def get_org_users(self, ctx, p, q, body):
        return 200, self.org_users_dto(self.int_param(p["orgId"], "orgId"))

    @route("POST", "/api/orgs/:orgId/users", "server")
    def post_org_user(self, ctx, p, q, body):
        return self.add_org_user(self.org_or_404(p["orgId"])["id"], body)

    @route("PATCH", "/api/orgs/:orgId/users/:userId", "server")
    def patch_org_user_route(self, ctx, p, q, body):
        return self.patch_org_user(self.int_param(p["orgId"], "orgId"), p["userId"], body)

    @route("DELETE", "/api/orgs/:orgId/users/:userId", "server")
    def delete_org_user(self, ctx, p, q, body):
        return self.remove_org_user(self.int_param(p["orgId"], "orgId"), p["userId"])

    @route("GET", "/api/org/users")
    def get_cur_org_users(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "org.users:read")
        return 200, self.org_users_dto(ctx.org_id)

    @route("POST", "/api/org/users")
    def post_cur_org_user(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "org.users:add")
        return self.add_org_user(ctx.org_id, body)

    @route("PATCH", "/api/org/users/:userId")
    def patch_cur_org_user(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "org.users:write")
        return self.patch_org_user(ctx.org_id, p["userId"], body)

    @route("DELETE", "/api/org/users/:userId")
    def delete_cur_org_user(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "org.users:remove")
        return self.remove_org_user(ctx.org_id, p["userId"])

    # ------------------------------------------------------------ users
    @route("POST", "/api/admin/users", "server")
    def admin_create_user(self, ctx, p, q, body):
        f = bind(body, [("name", "str", False), ("email", "str", False), ("login", "str", False),
                        ("password", "str", False), ("OrgId", "int", False)])
        email, login = f["email"].strip(), f["login"].strip()
        if not login:
            login = email
            if not login:
                raise ApiError(400, "Validation error, need specify either username or email")
        if len(f["password"]) < 4:
            raise ApiError(400, "Password is missing or too short")
        org_id = f["OrgId"] or 1   # auto_assign_org_id = 1
        if org_id not in self.st.orgs:
            raise ApiError(400, "organization not found")
        if not email:
            email = login          # user store: an empty email takes the login
        for u in self.st.users.values():
            if u["login"].lower() in (login.lower(), email.lower()) or \
                    u["email"].lower() in (login.lower(), email.lower()):
                raise ApiError(412, "User with email '%s' or username '%s' already exists"
                               % (f["email"], f["login"]))
        u = self.st.add_user(login, email, f["name"], f["password"], org_id, "Viewer")
        return 200, {"id": u["id"], "message": "User created"}

    def user_or_404(self, uid):
        try:
            u = self.st.users.get(int(uid))
        except ValueError:
            raise ApiError(400, "id is invalid") from None
        if u is None or u["isServiceAccount"]:
            raise ApiError(404, "user not found")
        return u

    @route("PUT", "/api/admin/users/:id/password", "server")
    def admin_password(self, ctx, p, q, body):
        f = bind(body, [("password", "str", False)])
        if len(f["password"]) < 4:
            raise ApiError(400, "New password too short")
        try:
            u = self.user_or_404(p["id"])
        except ApiError as e:
            if e.status == 404:
                raise ApiError(500, "Could not read user from database") from None
            raise
        u["password"] = f["password"]
        u["updated"] = now_iso()
        return 200, {"message": "User password updated"}

    @route("PUT", "/api/admin/users/:id/permissions", "server")
    def admin_permissions(self, ctx, p, q, body):
        f = bind(body, [("isGrafanaAdmin", "bool", False)])
        u = self.user_or_404(p["id"])
        if not f["isGrafanaAdmin"] and u["isGrafanaAdmin"] and \
                sum(1 for x in self.st.users.values() if x["isGrafanaAdmin"]) <= 1:
            raise ApiError(400, "cannot remove last grafana admin")
        u["isGrafanaAdmin"] = f["isGrafanaAdmin"]
        return 200, {"message": "User permissions updated"}

    @route("DELETE", "/api/admin/users/:id", "server")
    def admin_delete_user(self, ctx, p, q, body):
        u = self.user_or_404(p["id"])
        self.st.delete_user(u["id"])
        return 200, {"message": "User deleted"}

    @route("GET", "/api/users/lookup", "server")
    def user_lookup(self, ctx, p, q, body):
        u = self.st.user_by_login_or_email(qstr(q, "loginOrEmail"))
        if u is None:
            raise ApiError(404, "user not found")
        return 200, self.user_profile(u)

    def search_users(self, q):
        query = qstr(q, "query").lower()
        rows = [u for u in sorted(self.st.users.values(), key=lambda u: (u["login"], u["email"]))
                if not u["isServiceAccount"] and
                (not query or any(query in u[k].lower() for k in ("login", "email", "name")))]
        return [{"id": u["id"], "uid": u["uid"], "name": u["name"], "login": u["login"],
                 "email": u["email"], "avatarUrl": gravatar(u["email"]),
                 "isAdmin": u["isGrafanaAdmin"], "isDisabled": u["isDisabled"],
                 "lastSeenAt": u["updated"], "lastSeenAtAge": "< 1 minute", "authLabels": []}
                for u in rows]

    @route("GET", "/api/users/search", "server")
    def users_search(self, ctx, p, q, body):
        perpage = qint(q, "perpage", 1000)
        if perpage <= 0:
            perpage = 1000
        page = max(qint(q, "page", 1), 1)
        rows = self.search_users(q)
        return 200, {"totalCount": len(rows), "users": rows[(page - 1) * perpage: page * perpage],
                     "page": page, "perPage": perpage}

    @route("GET", "/api/users", "server")
    def users_list(self, ctx, p, q, body):
        perpage = qint(q, "perpage", 1000) or 1000
        page = max(qint(q, "page", 1), 1)
        return 200, self.search_users(q)[(page - 1) * perpage: page * perpage]

    @route("GET", "/api/users/:id", "server")
    def get_user(self, ctx, p, q, body):
        return 200, self.user_profile(self.user_or_404(p["id"]))

    @route("PUT", "/api/users/:id", "server")
    def update_user(self, ctx, p, q, body):
        u = self.user_or_404(p["id"])
        f = bind(body, [("email", "str", False), ("name", "str", False), ("login", "str", False),
                        ("theme", "str", False)])
        login = f["login"].strip() or f["email"].strip()
        if not login:
            raise ApiError(400, "Validation error, need to specify either username or email")
        email = f["email"].strip() or u["email"]
        for other in self.st.users.values():
            if other is u:
                continue
            if other["login"].lower() == login.lower():
                raise ApiError(409, "Update would result in user login conflict")
            if other["email"].lower() == email.lower():
                raise ApiError(409, "Update would result in user email conflict")
        u.update({"login": login, "email": email, "name": f["name"], "theme": f["theme"],
                  "updated": now_iso()})
        return 200, {"message": "User updated"}

    # ------------------------------------------------------------ teams
    @route("GET", "/api/teams/search")
    def search_teams(self, ctx, p, q, body):
        perpage = qint(q, "perpage", 1000)
        if perpage <= 0:
            perpage = 1000
        page = max(qint(q, "page", 1), 1)
        query, name = qstr(q, "query").lower(), qstr(q, "name")
        rows = [t for t in sorted(self.st.teams.values(), key=lambda t: t["name"])
                if t["orgId"] == ctx.org_id and self.visible_team(ctx, t)
                and (not name or t["name"] == name) and (not query or query in t["name"].lower())]
        return 200, {"totalCount": len(rows),
                     "teams": [self.team_dto(t) for t in rows[(page - 1) * perpage: page * perpage]],
                     "page": page, "perPage": perpage}

    @route("POST", "/api/teams")
    def create_team(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "teams:create")
        cmd = bind(body, [("name", "str", True), ("email", "str", False)])
        if any(t["orgId"] == ctx.org_id and t["name"] == cmd["name"] for t in self.st.teams.values()):
            raise ApiError(409, "Team name taken")
        tid = self.st.next_id("team")
        t = now_iso()
        self.st.teams[tid] = {"id": tid, "uid": new_short_uid(), "orgId": ctx.org_id,
                              "name": cmd["name"], "email": cmd["email"], "created": t, "updated": t}
        self.st.team_members[tid] = {}
        if ctx.real_user:
            # CreateTeam: a signed-in user (not a service account) becomes an
            # admin member of the team it creates
            self.st.team_members[tid][ctx.user["id"]] = 4
        return 200, {"message": "Team created", "teamId": tid}

    @route("GET", "/api/teams/:teamId")
    def get_team(self, ctx, p, q, body):
        t = self.team_get(ctx, p["teamId"])
        if t is None or not self.visible_team(ctx, t):
            raise ApiError(404, "Team not found")
        return 200, self.team_dto(t)

    @route("PUT", "/api/teams/:teamId")
    def update_team(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "teams:write")
        cmd = bind(body, [("name", "str", False), ("email", "str", False)])
        t = self.team_get(ctx, p["teamId"])
        if t is None:
            raise ApiError(404, "Team not found")
        if any(o is not t and o["orgId"] == ctx.org_id and o["name"] == cmd["name"]
               for o in self.st.teams.values()):
            raise ApiError(400, "Team name taken")
        if cmd["name"]:
            t["name"] = cmd["name"]
        t["email"] = cmd["email"]
        t["updated"] = now_iso()
        return 200, {"message": "Team updated"}

    @route("DELETE", "/api/teams/:teamId")
    def delete_team(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "teams:delete")
        t = self.team_get(ctx, p["teamId"])
        if t is None:
            raise ApiError(404, "Failed to delete Team. ID not found")
        self.st.teams.pop(t["id"])
        self.st.team_members.pop(t["id"], None)
        for key, grants in self.st.perms.items():
            if key[0] == t["orgId"]:
                grants[:] = [g for g in grants if g.get("teamId") != t["id"]]
        return 200, {"message": "Team deleted"}

    @route("GET", "/api/teams/:teamId/members")
    def get_team_members(self, ctx, p, q, body):
        t = self.team_get(ctx, p["teamId"])
        if t is None:
            return 200, []
        if not self.visible_team(ctx, t):
            raise denied("teams.permissions:read")
        rows = []
        for uid, perm in sorted(self.st.team_members.get(t["id"], {}).items()):
            u = self.st.users.get(uid)
            if u is None:
                continue
            rows.append({"orgId": t["orgId"], "teamId": t["id"], "teamUID": t["uid"], "userId": uid,
                         "auth_module": "", "email": u["email"], "name": u["name"],
                         "login": u["login"], "avatarUrl": gravatar(u["email"]), "labels": [],
                         "permission": perm})
        return 200, rows

    @route("POST", "/api/teams/:teamId/members")
    def add_team_member(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "teams.permissions:write")
        cmd = bind(body, [("userId", "int", True)])
        tid = self.int_param(p["teamId"], "teamId")
        t = self.st.teams.get(tid)
        members = self.st.team_members.get(tid, {})
        if t is not None and t["orgId"] == ctx.org_id and cmd["userId"] in members:
            raise ApiError(400, "User is already added to this team")
        u = self.st.users.get(cmd["userId"])
        if t is None or t["orgId"] != ctx.org_id or u is None:
            # the team permission service refuses an unknown team or user
            raise ApiError(500, "Failed to add Member to Team")
        members[u["id"]] = 0
        return 200, {"message": "Member added to Team"}

    @route("DELETE", "/api/teams/:teamId/members/:userId")
    def remove_team_member(self, ctx, p, q, body):
        self.require_role(ctx, "Admin", "teams.permissions:write")
        tid = self.int_param(p["teamId"], "teamId")
        uid = self.int_param(p["userId"], "userId")
        t = self.st.teams.get(tid)
        if t is None or t["orgId"] != ctx.org_id:
            raise ApiError(404, "Team not found")
        if uid not in self.st.team_members.get(tid, {}):
            raise ApiError(404, "Team member not found")
        del self.st.team_members[tid][uid]
        return 200, {"message": "Team Member removed"}

    # ------------------------------------------------------------ folders
    def check_uid(self, uid):
        if not UID_RE.match(uid):
            raise ApiError(400, "uid contains illegal characters")
        if len(uid) > MAX_UID:
            raise ApiError(400, "uid too long, max 40 characters")

    def default_grants(self, ctx, d, with_roles):
        """setDefaultFolderPermissions / setDefaultPermissions on creation."""
        t = now_iso()
        grants = self.st.grants(d)
        grants.clear()
        if ctx.real_user:
            grants.append({"userId": ctx.user["id"], "permission": 4, "created": t, "updated": t})
        if with_roles:
            grants.append({"role": "Editor", "permission": 2, "created": t, "updated": t})
            grants.append({"role": "Viewer", "permission": 1, "created": t, "updated": t})

    def folder_or_404(self, ctx, uid, need=1, action="folders:read"):
        f = self.st.dash_by_uid(ctx.org_id, uid, folder=True)
        if f is None:
            raise ApiError(404, "folder not found", status="not-found")
        if self.st.effective(ctx, f) < need:
            raise denied(action)
        return f

    def title_clash(self, org_id, slug, folder_id, exclude_id):
        """getExistingDashboardByTitleAndFolder: same slug among all folders
        of the org or among the dashboards of the target folder."""
        for d in self.st.dashes.values():
            if d["orgId"] == org_id and d["slug"] == slug and d["id"] != exclude_id and \
                    (d["isFolder"] or d["folderId"] == folder_id):
                return d
        return None

    @route("GET", "/api/folders")
    def list_folders(self, ctx, p, q, body):
        limit = qint(q, "limit", 1000) or 1000
        page = max(qint(q, "page", 1), 1)
        rows = [f for f in sorted(self.st.dashes.values(), key=lambda d: d["title"].lower())
                if f["orgId"] == ctx.org_id and f["isFolder"] and self.st.effective(ctx, f) >= 1]
        rows = rows[(page - 1) * limit: page * limit]
        return 200, [{"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in rows]

    @route("GET", "/api/folders/:uid", action="folders:read")
    def get_folder(self, ctx, p, q, body):
        return 200, self.folder_dto(ctx, self.folder_or_404(ctx, p["uid"]))

    @route("GET", "/api/folders/id/:id")
    def get_folder_by_id(self, ctx, p, q, body):
        f = self.st.folder_by_id(ctx.org_id, self.int_param(p["id"], "id"))
        if f is None:
            raise ApiError(404, "folder not found", status="not-found")
        return 200, self.folder_dto(ctx, self.folder_or_404(ctx, f["uid"]))

    @route("POST", "/api/folders")
    def create_folder(self, ctx, p, q, body):
        self.require_role(ctx, "Editor", "folders:create")
        cmd = bind(body, [("uid", "str", False), ("title", "str", False),
                          ("description", "str", False), ("parentUid", "str", False)])
        title, uid = cmd["title"].strip(), cmd["uid"].strip()
        if cmd["parentUid"]:
            # test server: nested folders are off, as Grafana 10.4's default
            raise ApiError(400, "nested folders are not enabled")
        if not title:
            raise ApiError(400, "folder title cannot be empty")
        if uid == "general":
            raise ApiError(400, "invalid uid for folder provided")
        self.check_uid(uid)
        if uid and self.st.dash_by_uid(ctx.org_id, uid) is not None:
            raise ApiError(409, "a folder/dashboard with the same uid already exists")
        slug = slugify(title)
        clash = self.title_clash(ctx.org_id, slug, 0, None)
        if clash is not None:
            if clash["isFolder"]:
                raise ApiError(409, "a folder or dashboard in the general folder with the same name already exists")
            raise ApiError(400, "Folder name cannot be the same as one of its dashboards")
        while not uid or self.st.dash_by_uid(ctx.org_id, uid) is not None:
            uid = new_short_uid()
        fid = self.st.next_id("dash")
        t = now_iso()
        f = {"id": fid, "uid": uid, "orgId": ctx.org_id, "title": title, "slug": slug,
             "isFolder": True, "folderId": 0, "version": 1, "data": None,
             "created": t, "updated": t, "createdBy": ctx.user["id"], "updatedBy": ctx.user["id"]}
        self.st.dashes[fid] = f
        self.default_grants(ctx, f, True)
        return 200, self.folder_dto(ctx, f)

    @route("PUT", "/api/folders/:uid")
    def update_folder(self, ctx, p, q, body):
        cmd = bind(body, [("title", "str", False), ("description", "str", False),
                          ("version", "int", False), ("overwrite", "bool", False)])
        f = self.folder_or_404(ctx, p["uid"], 2, "folders:write")
        title = cmd["title"].strip()
        if not title:
            raise ApiError(400, "folder title cannot be empty")
        if cmd["version"] != f["version"] and not cmd["overwrite"]:
            raise ApiError(412, "the folder has been changed by someone else", status="version-mismatch")
        slug = slugify(title)
        clash = self.title_clash(ctx.org_id, slug, 0, f["id"])
        if clash is not None:
            if clash["isFolder"]:
                raise ApiError(409, "a folder or dashboard in the general folder with the same name already exists")
            raise ApiError(400, "Folder name cannot be the same as one of its dashboards")
        f.update({"title": title, "slug": slug, "version": f["version"] + 1,
                  "updated": now_iso(), "updatedBy": ctx.user["id"]})
        return 200, self.folder_dto(ctx, f)

    @route("DELETE", "/api/folders/:uid")
    def delete_folder(self, ctx, p, q, body):
        f = self.folder_or_404(ctx, p["uid"], 2, "folders:delete")
        for d in [d for d in self.st.dashes.values() if d["folderId"] == f["id"] and not d["isFolder"]]:
            self.st.delete_dash(d)
        self.st.delete_dash(f)
        return 200, {"message": "Folder deleted"}

    # ------------------------------------------------------------ permissions
    def acl_list(self, d):
        rows = [self.acl_dto(g, d) for g in self.st.grants(d)]
        if not d["isFolder"] and d["folderId"]:
            f = self.st.dashes.get(d["folderId"])
            if f:
                rows += [self.acl_dto(g, d, inherited_from=f) for g in self.st.grants(f)]
        return rows

    def set_acl(self, ctx, d, body):
        """UpdateFolderPermissions / UpdateDashboardPermissions: the items
        replace every managed permission of the resource."""
        cmd = bind(body, [("items", "items", False)])
        for it in cmd["items"]:
            if it["userId"] > 0 and it["teamId"] > 0:
                raise ApiError(400, "team and user permissions cannot have an associated role")
            if (it["userId"] > 0 or it["teamId"] > 0) and it["role"] is not None:
                raise ApiError(400, "permissions cannot have both a user and team")
        fail = ApiError(500, "Failed to create permission" if d["isFolder"] else "Failed to update permissions")
        new = {}
        for it in cmd["items"]:
            if it["userId"] > 0:
                if it["userId"] not in self.st.users:
                    raise fail
                key = ("userId", it["userId"])
            elif it["teamId"] > 0:
                t = self.st.teams.get(it["teamId"])
                if t is None or t["orgId"] != d["orgId"]:
                    raise fail
                key = ("teamId", it["teamId"])
            elif it["role"] is not None and it["role"] != "None":
                key = ("role", it["role"])
            else:
                raise fail
            new[key] = it["permission"] if it["permission"] in PERM_NAMES else 0
        grants = self.st.grants(d)
        old = {(k, g[k]): g for g in grants for k in ("userId", "teamId", "role") if g.get(k)}
        t = now_iso()
        result = []
        for key, perm in new.items():
            if not perm:
                continue          # PermissionType.String() == "": the grant is removed
            g = old.get(key)
            if g is not None:
                if g["permission"] != perm:
                    g = dict(g, permission=perm, updated=t)
                result.append(g)
            else:
                result.append({key[0]: key[1], "permission": perm, "created": t, "updated": t})
        grants[:] = result
        return 200, {"message": "Folder permissions updated" if d["isFolder"]
                     else "Dashboard permissions updated"}

    @route("GET", "/api/folders/:uid/permissions")
    def get_folder_perms(self, ctx, p, q, body):
        f = self.folder_or_404(ctx, p["uid"], 4, "folders.permissions:read")
        return 200, self.acl_list(f)

    @route("POST", "/api/folders/:uid/permissions")
    def set_folder_perms(self, ctx, p, q, body):
        bind(body, [("items", "items", False)])      # a bad body is 400 before the lookup
        f = self.folder_or_404(ctx, p["uid"], 4, "folders.permissions:write")
        return self.set_acl(ctx, f, body)

    def dash_or_404(self, ctx, uid, need=1, action="dashboards:read"):
        # test server: Grafana answers a folder's uid here with the folder
        # (meta.isFolder true); this server answers 404
        d = self.st.dash_by_uid(ctx.org_id, uid, folder=False)
        if d is None:
            raise ApiError(404, "Dashboard not found")
        if self.st.effective(ctx, d) < need:
            raise denied(action)
        return d

    @route("GET", "/api/dashboards/uid/:uid/permissions")
    def get_dash_perms(self, ctx, p, q, body):
        d = self.dash_or_404(ctx, p["uid"], 4, "dashboards.permissions:read")
        return 200, self.acl_list(d)

    @route("POST", "/api/dashboards/uid/:uid/permissions")
    def set_dash_perms(self, ctx, p, q, body):
        bind(body, [("items", "items", False)])
        d = self.dash_or_404(ctx, p["uid"], 4, "dashboards.permissions:write")
        return self.set_acl(ctx, d, body)

    # ------------------------------------------------------------ dashboards
    @route("POST", "/api/dashboards/db")
    def post_dashboard(self, ctx, p, q, body):
        cmd = bind(body, [("dashboard", "any", True), ("userId", "int", False),
                          ("overwrite", "bool", False), ("message", "str", False),
                          ("folderId", "int", False), ("folderUid", "str", False),
                          ("isFolder", "bool", False)])
        if cmd["isFolder"]:
            raise ApiError(400, "Use folders endpoint for saving folders.")
        data = cmd["dashboard"]
        if not isinstance(data, dict):
            raise bad_request()
        data = json.loads(json.dumps(data))
        org = ctx.org_id
        folder_id = cmd["folderId"]
        if cmd["folderUid"]:
            f = self.st.dash_by_uid(org, cmd["folderUid"], folder=True)
            if f is None:
                raise ApiError(400, "Folder not found")
            folder_id = f["id"]
        # NewDashboardFromJson: the id (a number) or the uid (a string) make
        # it an update; the version is only read for an update
        raw_id = data.get("id")
        id_is_num = isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool)
        dash_id = int(raw_id) if id_is_num else 0
        uid = data["uid"] if isinstance(data.get("uid"), str) else ""
        update = id_is_num or isinstance(data.get("uid"), str)
        title = data.get("title") if isinstance(data.get("title"), str) else ""
        v = data.get("version")
        if update and isinstance(v, (int, float)) and not isinstance(v, bool):
            version = int(v)
        else:
            version = 0
        # dashboard service BuildSaveDashboardCommand
        if not title.strip():
            raise ApiError(400, "Dashboard title cannot be empty")
        if len(cmd["message"]) > 500:
            raise ApiError(400, "message too long, max 500 characters")
        self.check_uid(uid)
        if folder_id:
            fo = self.st.folder_by_id(org, folder_id)
            if fo is None:
                raise ApiError(404, "Folder not found")
            need_on = fo
        else:
            need_on = None
        # permission to save: edit on the dashboard, or on the target folder
        slug = slugify(title)
        overwrite = cmd["overwrite"]
        existing = None
        parent_changed = False
        if dash_id > 0:
            existing = self.st.dashes.get(dash_id)
            if existing is None or existing["orgId"] != org:
                raise ApiError(404, "Dashboard not found", status="not-found")
            if not uid:
                uid = existing["uid"]
        by_uid = self.st.dash_by_uid(org, uid) if uid else None
        if existing is not None and by_uid is not None and existing["id"] != by_uid["id"]:
            raise ApiError(400, "A dashboard with the same uid already exists")
        if existing is None and by_uid is not None:
            existing = by_uid
            dash_id = by_uid["id"]
        if existing is not None:
            if existing["isFolder"]:
                raise ApiError(400, "Dashboard cannot be changed to a folder")
            if existing["folderId"] != folder_id:
                parent_changed = True
            if version != existing["version"]:
                if overwrite:
                    version = existing["version"]
                else:
                    raise ApiError(412, "The dashboard has been changed by someone else",
                                   status="version-mismatch")
        clash = self.title_clash(org, slug, folder_id, dash_id)
        if clash is not None:
            if clash["isFolder"]:
                raise ApiError(400, "Dashboard name cannot be the same as folder")
            if overwrite:
                # Grafana takes the other dashboard over: its id, uid and version
                existing, dash_id, uid, version = clash, clash["id"], clash["uid"], clash["version"]
                parent_changed = parent_changed or clash["folderId"] != folder_id
            else:
                raise ApiError(412, "A dashboard with the same name in the folder already exists",
                               status="name-exists")
        if existing is not None:
            if self.st.effective(ctx, existing) < 2:
                raise denied("dashboards:write")
            if parent_changed and not self.can_create_in(ctx, need_on):
                raise denied("dashboards:create")
        elif not self.can_create_in(ctx, need_on):
            raise denied("dashboards:create")
        t = now_iso()
        if existing is None:
            while not uid or self.st.dash_by_uid(org, uid) is not None:
                uid = new_short_uid()
            dash_id = self.st.next_id("dash")
            d = {"id": dash_id, "uid": uid, "orgId": org, "isFolder": False, "version": 1,
                 "created": t, "createdBy": ctx.user["id"]}
            self.st.dashes[dash_id] = d
            is_new = True
        else:
            d = existing
            d["version"] = version + 1
            is_new = False
        data["id"] = dash_id
        data["uid"] = uid
        data["version"] = d["version"]
        if d["uid"] != uid:
            # saved by id with a new uid: the dashboard takes the new uid
            self.st.perms[(org, "dashboards", uid)] = self.st.perms.pop((org, "dashboards", d["uid"]), [])
            d["uid"] = uid
        d.update({"title": title, "slug": slug, "folderId": folder_id, "data": data,
                  "updated": t, "updatedBy": ctx.user["id"], "message": cmd["message"]})
        if is_new:
            self.default_grants(ctx, d, with_roles=not folder_id)
        return 200, {"id": dash_id, "slug": slug, "status": "success", "uid": uid,
                     "url": "/d/%s/%s" % (uid, slug), "version": d["version"]}

    def can_create_in(self, ctx, folder):
        if folder is None:
            return ctx.role is not None and ROLE_RANK[ctx.role] >= ROLE_RANK["Editor"]
        return self.st.effective(ctx, folder) >= 2

    @route("GET", "/api/dashboards/uid/:uid", action="dashboards:read")
    def get_dashboard(self, ctx, p, q, body):
        d = self.dash_or_404(ctx, p["uid"])
        perm = self.st.effective(ctx, d)
        f = self.st.dashes.get(d["folderId"]) if d["folderId"] else None
        data = dict(d["data"])
        data["id"], data["uid"], data["version"] = d["id"], d["uid"], d["version"]
        meta = {"type": "db", "canSave": perm >= 2, "canEdit": perm >= 2, "canAdmin": perm >= 4,
                "canStar": True, "canDelete": perm >= 2, "slug": d["slug"],
                "url": "/d/%s/%s" % (d["uid"], d["slug"]), "expires": EPOCH0,
                "created": d["created"], "updated": d["updated"],
                "updatedBy": self.login_of(d["updatedBy"]), "createdBy": self.login_of(d["createdBy"]),
                "version": d["version"], "hasAcl": False, "isFolder": False,
                "folderId": d["folderId"], "folderUid": f["uid"] if f else "",
                "folderTitle": f["title"] if f else "General",
                "folderUrl": "/dashboards/f/%s/%s" % (f["uid"], f["slug"]) if f else "",
                "provisioned": False, "provisionedExternalId": "",
                "annotationsPermissions": {
                    "dashboard": {"canAdd": perm >= 2, "canEdit": perm >= 2, "canDelete": perm >= 2},
                    "organization": {"canAdd": ctx.role == "Admin", "canEdit": ctx.role == "Admin",
                                     "canDelete": ctx.role == "Admin"}},
                "publicDashboardAccessToken": "", "publicDashboardUid": "",
                "publicDashboardEnabled": False}
        return 200, {"dashboard": sorted_json(data), "meta": meta}

    @route("DELETE", "/api/dashboards/uid/:uid")
    def delete_dashboard(self, ctx, p, q, body):
        d = self.dash_or_404(ctx, p["uid"], 2, "dashboards:delete")
        self.st.delete_dash(d)
        return 200, {"id": d["id"], "message": "Dashboard %s deleted" % d["title"], "title": d["title"]}

    @route("GET", "/api/search")
    def search(self, ctx, p, q, body):
        typ = qstr(q, "type")
        query = qstr(q, "query").lower()
        folder_ids = qlist(q, "folderIds")
        folder_uids = qlist(q, "folderUIDs") + qlist(q, "folderUids")
        dash_uids = qlist(q, "dashboardUIDs") + qlist(q, "dashboardUids")
        dash_ids = qlist(q, "dashboardIds")
        tags = q.get("tag", [])
        limit = qint(q, "limit", 1000)
        if limit <= 0 or limit > 5000:
            limit = 1000
        page = max(qint(q, "page", 1), 1)
        want_ids = set()
        for x in folder_ids:
            try:
                want_ids.add(int(x))
            except ValueError:
                pass
        for u in folder_uids:
            if u == "general":
                want_ids.add(0)
            else:
                f = self.st.dash_by_uid(ctx.org_id, u, folder=True)
                want_ids.add(f["id"] if f else -1)
        rows = []
        for d in self.st.dashes.values():
            if d["orgId"] != ctx.org_id:
                continue
            if typ == "dash-db" and d["isFolder"] or typ == "dash-folder" and not d["isFolder"]:
                continue
            if (folder_ids or folder_uids) and d["folderId"] not in want_ids:
                continue
            if dash_uids and d["uid"] not in dash_uids:
                continue
            if dash_ids and str(d["id"]) not in dash_ids:
                continue
            if query and query not in d["title"].lower():
                continue
            dtags = (d["data"] or {}).get("tags") or []
            if tags and not all(t in dtags for t in tags):
                continue
            if self.st.effective(ctx, d) < 1:
                continue
            rows.append(d)
        rows.sort(key=lambda d: (not d["isFolder"], d["title"].lower()))
        out = []
        for d in rows[(page - 1) * limit: page * limit]:
            hit = {"id": d["id"], "uid": d["uid"], "orgId": d["orgId"], "title": d["title"],
                   "uri": "db/" + d["slug"],
                   "url": ("/dashboards/f/%s/%s" if d["isFolder"] else "/d/%s/%s") % (d["uid"], d["slug"]),
                   "slug": "", "type": "dash-folder" if d["isFolder"] else "dash-db",
                   "tags": sorted(x for x in ((d["data"] or {}).get("tags") or []) if isinstance(x, str)),
                   "isStarred": False, "sortMeta": 0}
            if not d["isFolder"] and d["folderId"]:
                f = self.st.dashes[d["folderId"]]
                hit.update({"folderId": f["id"], "folderUid": f["uid"], "folderTitle": f["title"],
                            "folderUrl": "/dashboards/f/%s/%s" % (f["uid"], f["slug"])})
            out.append(hit)
        return 200, out

    # ------------------------------------------------------------ datasources
    DS_FIELDS = [("name", "str", False), ("type", "str", False), ("access", "str", False),
                 ("url", "str", False), ("user", "str", False), ("database", "str", False),
                 ("basicAuth", "bool", False), ("basicAuthUser", "str", False),
                 ("withCredentials", "bool", False), ("isDefault", "bool", False),
                 ("jsonData", "any", False), ("secureJsonData", "strmap", False),
                 ("uid", "str", False)]

    def ds_admin(self, ctx, action):
        self.require_role(ctx, "Admin", action)

    def ds_reader(self, ctx, action):
        # Grafana OSS (12.x, pkg/api/accesscontrol.go): without the Enterprise
        # "dspermissions.enforcement" licence, fixed:datasources:reader
        # (datasources:read and :query on every datasource) is granted to
        # Viewer, and fixed:datasources.id:reader too: any member of the org
        # reads every datasource of it (secrets excepted)
        self.require_role(ctx, "Viewer", action)

    @route("GET", "/api/datasources", action="datasources:read")
    def list_ds(self, ctx, p, q, body):
        self.ds_reader(ctx, "datasources:read")
        rows = sorted((d for d in self.st.datasources.values() if d["orgId"] == ctx.org_id),
                      key=lambda d: d["name"].lower())
        return 200, [self.ds_list_item(d) for d in rows]

    def ds_or_404(self, ctx, by, key):
        ds = self.ds_get(ctx, by, key)
        if ds is None:
            raise ApiError(404, "Data source not found")
        return ds

    @route("GET", "/api/datasources/name/:name", action="datasources:read")
    def get_ds_name(self, ctx, p, q, body):
        self.ds_reader(ctx, "datasources:read")
        return 200, self.ds_dto(self.ds_or_404(ctx, "name", p["name"]))

    @route("GET", "/api/datasources/uid/:uid", action="datasources:read")
    def get_ds_uid(self, ctx, p, q, body):
        self.ds_reader(ctx, "datasources:read")
        return 200, self.ds_dto(self.ds_or_404(ctx, "uid", p["uid"]))

    @route("GET", "/api/datasources/id/:name", action="datasources.id:read")
    def get_ds_id_by_name(self, ctx, p, q, body):
        self.ds_reader(ctx, "datasources.id:read")
        return 200, {"id": self.ds_or_404(ctx, "name", p["name"])["id"]}

    @route("GET", "/api/datasources/:id", action="datasources:read")
    def get_ds_id(self, ctx, p, q, body):
        self.ds_reader(ctx, "datasources:read")
        self.int_param(p["id"], "id")
        return 200, self.ds_dto(self.ds_or_404(ctx, "id", p["id"]))

    @route("POST", "/api/datasources")
    def add_ds(self, ctx, p, q, body):
        self.ds_admin(ctx, "datasources:create")
        cmd = bind(body, self.DS_FIELDS)
        if not cmd["name"] or len(cmd["name"]) > 190:
            raise ApiError(400, "Invalid datasource name.", messageId="datasource.nameInvalid",
                           statusCode=400, traceID="")
        if not cmd["type"] or not cmd["access"]:
            raise bad_request()
        if cmd["uid"]:
            if not UID_RE.match(cmd["uid"]) or len(cmd["uid"]) > MAX_UID:
                raise ApiError(400, "Failed to add datasource: invalid UID")
        if any(d["orgId"] == ctx.org_id and d["name"] == cmd["name"] for d in self.st.datasources.values()):
            raise ApiError(409, "data source with the same name already exists")
        if cmd["uid"] and any(d["orgId"] == ctx.org_id and d["uid"] == cmd["uid"]
                              for d in self.st.datasources.values()):
            raise ApiError(409, "data source with the same uid already exists")
        uid = cmd["uid"]
        while not uid or any(d["uid"] == uid for d in self.st.datasources.values()):
            uid = new_short_uid()
        did = self.st.next_id("ds")
        ds = {"id": did, "uid": uid, "orgId": ctx.org_id, "version": 1, "created": now_iso()}
        self.ds_apply(ds, cmd, {})
        self.st.datasources[did] = ds
        if ds["isDefault"]:
            self.only_default(ds)
        return 200, {"datasource": self.ds_dto(ds), "id": did, "message": "Datasource added",
                     "name": ds["name"]}

    def ds_apply(self, ds, cmd, old_secure):
        jd = cmd["jsonData"]
        secure = dict(old_secure)
        secure.update(cmd["secureJsonData"])
        ds.update({"name": cmd["name"] or ds.get("name", ""), "type": cmd["type"] or ds.get("type", ""),
                   "access": cmd["access"] or ds.get("access", ""), "url": cmd["url"] or ds.get("url", ""),
                   "user": cmd["user"], "database": cmd["database"], "basicAuth": cmd["basicAuth"],
                   "basicAuthUser": cmd["basicAuthUser"], "withCredentials": cmd["withCredentials"],
                   "isDefault": cmd["isDefault"],
                   "jsonData": json.loads(json.dumps(jd)) if jd is not None else {},
                   "secure": secure, "updated": now_iso()})

    def only_default(self, ds):
        for d in self.st.datasources.values():
            if d is not ds and d["orgId"] == ds["orgId"]:
                d["isDefault"] = False

    def update_ds(self, ctx, ds, body):
        cmd = bind(body, self.DS_FIELDS + [("version", "int", False)])
        if cmd["name"] and cmd["name"] != ds["name"] and any(
                d["orgId"] == ctx.org_id and d["name"] == cmd["name"] for d in self.st.datasources.values()):
            raise ApiError(409, "Failed to update datasource: data source with the same name already exists")
        if cmd["version"] and ds["version"] > cmd["version"]:
            raise ApiError(409, "Datasource has already been updated by someone else. Please reload and try again")
        if cmd["uid"] and cmd["uid"] != ds["uid"]:
            if not UID_RE.match(cmd["uid"]) or len(cmd["uid"]) > MAX_UID:
                raise ApiError(400, "Failed to update datasource: invalid UID")
            if any(d["orgId"] == ctx.org_id and d["uid"] == cmd["uid"] for d in self.st.datasources.values()):
                raise ApiError(409, "Failed to update datasource: data source with the same uid already exists")
            ds["uid"] = cmd["uid"]
        # fillWithSecureJSONData: keys not sent keep their stored value
        self.ds_apply(ds, cmd, ds["secure"])
        # sqlstore UpdateDataSource: Version = cmd.Version + 1
        ds["version"] = cmd["version"] + 1
        if ds["isDefault"]:
            self.only_default(ds)
        return 200, {"datasource": self.ds_dto(ds), "id": ds["id"], "message": "Datasource updated",
                     "name": cmd["name"]}

    @route("PUT", "/api/datasources/uid/:uid")
    def put_ds_uid(self, ctx, p, q, body):
        self.ds_admin(ctx, "datasources:write")
        bind(body, self.DS_FIELDS + [("version", "int", False)])
        return self.update_ds(ctx, self.ds_or_404(ctx, "uid", p["uid"]), body)

    @route("PUT", "/api/datasources/:id")
    def put_ds_id(self, ctx, p, q, body):
        self.ds_admin(ctx, "datasources:write")
        bind(body, self.DS_FIELDS + [("version", "int", False)])
        self.int_param(p["id"], "id")
        return self.update_ds(ctx, self.ds_or_404(ctx, "id", p["id"]), body)

    def delete_ds(self, ds, with_id):
        self.st.datasources.pop(ds["id"])
        body = {"message": "Data source deleted"}
        if with_id:
            body["id"] = ds["id"]
        return 200, body

    @route("DELETE", "/api/datasources/uid/:uid")
    def delete_ds_uid(self, ctx, p, q, body):
        self.ds_admin(ctx, "datasources:delete")
        return self.delete_ds(self.ds_or_404(ctx, "uid", p["uid"]), True)

    @route("DELETE", "/api/datasources/name/:name")
    def delete_ds_name(self, ctx, p, q, body):
        self.ds_admin(ctx, "datasources:delete")
        return self.delete_ds(self.ds_or_404(ctx, "name", p["name"]), True)

    @route("DELETE", "/api/datasources/:id")
    def delete_ds_id(self, ctx, p, q, body):
        self.ds_admin(ctx, "datasources:delete")
        if self.int_param(p["id"], "id") <= 0:
            raise ApiError(400, "Missing valid datasource id")
        return self.delete_ds(self.ds_or_404(ctx, "id", p["id"]), False)

    # ------------------------------------------------------------ POST /api/ds/query
    # Grafana 12.x: pkg/api/ds_query.go (QueryMetricsV2) and pkg/services/query.
    # Each query's datasource is looked up by uid (or legacy id) in the
    # caller's current org only (the datasource cache queries with the
    # caller's OrgID): another org's uid is ErrDataSourceNotFound, answered
    # 404 "Data source not found". The route needs datasources:query, which
    # Grafana OSS grants to Viewer on every datasource of the org: there are
    # no datasource permissions, so any member of an org may query any of its
    # datasources (what makes team tenancy share data). InfluxDB datasources
    # are queried for real (InfluxQL: GET/POST <url>/query; Flux: POST
    # <url>/api/v2/query), other plugins are not run (test server).
    @route("POST", "/api/ds/query", action="datasources:query")
    def ds_query(self, ctx, p, q, body):
        self.require_role(ctx, "Viewer", "datasources:query")
        req = bind(body, [("from", "str", False), ("to", "str", False), ("queries", "any", False),
                          ("debug", "bool", False)])
        queries = req["queries"]
        if queries is not None and not isinstance(queries, list):
            raise bad_request()
        if not queries:
            raise errutil_error(400, "query.noQueries", "No queries found")
        t_from, t_to = parse_grafana_time(req["from"] or "now-6h"), parse_grafana_time(req["to"] or "now")
        if t_from is None or t_to is None:
            raise bad_request()
        plan = []
        for i, tq in enumerate(queries):
            if not isinstance(tq, dict):
                raise bad_request()
            ref = tq.get("refId") if isinstance(tq.get("refId"), str) else ""
            dsref = tq.get("datasource") if isinstance(tq.get("datasource"), dict) else {}
            uid = dsref.get("uid") if isinstance(dsref.get("uid"), str) else ""
            did = tq.get("datasourceId")
            if uid in ("__expr__", "-100"):
                # test server: server-side expressions are not evaluated
                raise ApiError(400, "test server: expressions are not supported")
            if uid:
                ds = self.ds_get(ctx, "uid", uid)
            elif isinstance(did, int) and not isinstance(did, bool) and did > 0:
                ds = self.ds_get(ctx, "id", str(did))
            else:
                raise errutil_error(400, "query.missingDataSourceInfo",
                                    "Query %s is missing datasource information" % ref)
            if ds is None:
                raise ApiError(404, "Data source not found")
            plan.append((ref or chr(ord("A") + i % 26), tq, ds))
        results = {}
        status = 200
        for ref, tq, ds in plan:
            res = run_datasource_query(ds, ref, tq, t_from, t_to)
            if "error" in res:
                status = 400     # toJsonStreamingResponse: any error makes it 400
            results[ref] = res
        return status, {"results": results}

    # ------------------------------------------------------------ datasource health
    # GET /api/datasources/uid/:uid/health and the deprecated /api/datasources/:id/health,
    # as Grafana 12 keeps them (pkg/api/api.go: reqSignedIn plus datasources:query, which
    # every role of an organization holds in OSS; pkg/api/datasources.go
    # checkDatasourceHealth): 200 {"message", "status": "OK"}, 400 with "status": "ERROR"
    # when the check fails. The check is the InfluxDB plugin's CheckHealth
    # (pkg/tsdb/influxdb/healthcheck.go), run for real against the datasource's URL with
    # its stored credentials, so a lost or wrong token shows as it would in Grafana.
    # test server: Grafana routes any method here (apiRoute.Any); GET (and HEAD) only.
    @route("GET", "/api/datasources/uid/:uid/health", action="datasources:query")
    def ds_health_uid(self, ctx, p, q, body):
        self.require_role(ctx, "Viewer", "datasources:query")
        if not UID_RE.match(p["uid"]) or len(p["uid"]) > MAX_UID:
            raise ApiError(400, "UID is invalid")
        return self.ds_health(self.ds_get(ctx, "uid", p["uid"]))

    @route("GET", "/api/datasources/:id/health", action="datasources:query")
    def ds_health_id(self, ctx, p, q, body):
        self.require_role(ctx, "Viewer", "datasources:query")
        try:
            int(p["id"])
        except ValueError:
            raise ApiError(400, "id is invalid") from None
        return self.ds_health(self.ds_get(ctx, "id", p["id"]))

    def ds_health(self, ds):
        if ds is None:
            # the datasource cache's not-found error is not mapped to 404 there
            raise ApiError(500, "Unable to load datasource metadata")
        if ds["type"] != "influxdb":
            # test server: only the stock InfluxDB plugin's check is modelled
            raise ApiError(500, "Unable to get plugin context")
        version = ds["jsonData"].get("version") or "InfluxQL"
        if version == "Flux":
            ok, message = influx_flux_health(ds)
        elif version == "InfluxQL":
            ok, message = influx_influxql_health(ds)
        else:
            # test server: SQL (InfluxDB 3, Flight) is not modelled
            ok, message = False, "unknown influx version "
        return (200 if ok else 400), {"message": message, "status": "OK" if ok else "ERROR"}

    # ------------------------------------------------------------ control
    def state_dump(self, only_org=None):
        st = self.st

        def in_org(o):
            return only_org is None or o == only_org

        def grant_dump(g):
            out = {k: g[k] for k in ("userId", "teamId", "role") if g.get(k)}
            if "userId" in out and out["userId"] in st.users:
                out["login"] = st.users[out["userId"]]["login"]
            if "teamId" in out and out["teamId"] in st.teams:
                out["team"] = st.teams[out["teamId"]]["name"]
            out["permission"] = g["permission"]
            out["permissionName"] = PERM_NAMES[g["permission"]]
            return out

        def panel_queries(data):
            out = []

            def walk(panels):
                for pn in panels or []:
                    if not isinstance(pn, dict):
                        continue
                    for tg in pn.get("targets") or []:
                        if isinstance(tg, dict):
                            qtext = next((tg[k] for k in ("query", "expr", "rawSql", "rawQuery")
                                          if isinstance(tg.get(k), str)), None)
                            out.append({"panel": pn.get("title", ""), "panelId": pn.get("id"),
                                        "refId": tg.get("refId"), "datasource": tg.get("datasource",
                                                                                       pn.get("datasource")),
                                        "query": qtext})
                    walk(pn.get("panels"))
            walk((data or {}).get("panels"))
            return out

        def variables(data):
            out = []
            for v in ((data or {}).get("templating") or {}).get("list") or []:
                if isinstance(v, dict):
                    qv = v.get("query")
                    if isinstance(qv, dict):
                        qv = qv.get("query", qv)
                    out.append({"name": v.get("name"), "type": v.get("type"),
                                "datasource": v.get("datasource"), "query": qv})
            return out

        orgs = []
        for o in sorted(st.orgs.values(), key=lambda o: o["id"]):
            if not in_org(o["id"]):
                continue
            orgs.append({"id": o["id"], "name": o["name"],
                         "users": [{"userId": u, "login": st.users[u]["login"], "role": r}
                                   for (oid, u), r in sorted(st.org_users.items(), key=lambda kv: kv[0][1])
                                   if oid == o["id"] and u in st.users]})
        users = []
        for u in sorted(st.users.values(), key=lambda u: u["id"]):
            users.append({"id": u["id"], "login": u["login"], "email": u["email"], "name": u["name"],
                          "isGrafanaAdmin": u["isGrafanaAdmin"], "isServiceAccount": u["isServiceAccount"],
                          "currentOrgId": u["orgId"],
                          "orgs": {str(oid): st.org_users[(oid, u["id"])] for oid in st.user_orgs(u["id"])},
                          "teams": sorted(st.teams[t]["name"] for t, m in st.team_members.items()
                                          if u["id"] in m and t in st.teams),
                          "password_set": bool(u["password"]),
                          "password_sha256": sha256(u["password"]) if u["password"] else None})
        teams = []
        for t in sorted(st.teams.values(), key=lambda t: t["id"]):
            if not in_org(t["orgId"]):
                continue
            teams.append({"id": t["id"], "uid": t["uid"], "orgId": t["orgId"], "name": t["name"],
                          "email": t["email"],
                          "members": [{"userId": uid, "login": st.users[uid]["login"],
                                       "email": st.users[uid]["email"], "permission": perm}
                                      for uid, perm in sorted(st.team_members.get(t["id"], {}).items())
                                      if uid in st.users]})
        folders, dashboards = [], []
        for d in sorted(st.dashes.values(), key=lambda d: d["id"]):
            if not in_org(d["orgId"]):
                continue
            if d["isFolder"]:
                folders.append({"id": d["id"], "uid": d["uid"], "orgId": d["orgId"], "title": d["title"],
                                "version": d["version"],
                                "permissions": [grant_dump(g) for g in st.grants(d)]})
            else:
                f = st.dashes.get(d["folderId"]) if d["folderId"] else None
                dashboards.append({"id": d["id"], "uid": d["uid"], "orgId": d["orgId"],
                                   "title": d["title"], "folderId": d["folderId"],
                                   "folderUid": f["uid"] if f else "",
                                   "folderTitle": f["title"] if f else "General",
                                   "version": d["version"], "message": d.get("message", ""),
                                   "permissions": [grant_dump(g) for g in st.grants(d)],
                                   "queries": panel_queries(d["data"]),
                                   "variables": variables(d["data"]),
                                   "dashboard": sorted_json(d["data"])})
        datasources = []
        for ds in sorted(st.datasources.values(), key=lambda d: d["id"]):
            if not in_org(ds["orgId"]):
                continue
            item = self.ds_dto(ds)
            item["secure_sha256"] = {k: sha256(v) for k, v in sorted(ds["secure"].items())}
            item["secret_for_tests"] = dict(sorted(ds["secure"].items()))
            datasources.append(item)
        return {"version": self.version, "orgs": orgs, "users": users, "teams": teams,
                "folders": folders, "dashboards": dashboards, "datasources": datasources}


# ---------------------------------------------------------------- datasource checks
# The InfluxDB plugin's CheckHealth (Grafana 12, pkg/tsdb/influxdb/healthcheck.go),
# made against the real server: (ok, message) with the plugin's wording,
# "datasource is working. ..." or "<error> <what failed>".

HEALTH_TIMEOUT = 10


def health_call(url, data, headers, method):
    """(status, body text) of one request to the datasource's server;
    raises OSError when it cannot be reached."""
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    # no proxy from the environment: the test servers are on the loopback
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=HEALTH_TIMEOUT) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def go_net_error(method, url, e):
    """A failed request as Go's net/http words it, e.g.
    Post "http://h:1/x": dial tcp h:1: connect: connection refused."""
    reason = getattr(e, "reason", e)
    if isinstance(reason, ConnectionRefusedError):
        what = "dial tcp %s: connect: connection refused" % urlsplit(url).netloc
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        what = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    else:
        what = str(reason)
    return '%s "%s": %s' % (method.capitalize(), url, what)


def influx_flux_health(ds):
    """buckets() through POST <url>/api/v2/query?org=<organization>, with
    "Authorization: Token <token>" as influxdb-client-go sends it."""
    url = ds["url"].rstrip("/") + "/api/v2/query?" + urlencode({"org": ds["jsonData"].get("organization", "")})
    body = json.dumps({"query": "buckets()", "type": "flux",
                       "dialect": {"header": True, "delimiter": ",", "commentPrefix": "#",
                                   "annotations": ["datatype", "group", "default"],
                                   "dateTimeFormat": "RFC3339"}}).encode()
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity",
               "Authorization": "Token " + ds["secure"].get("token", "")}
    try:
        status, text = health_call(url, body, headers, "POST")
    except OSError as e:
        return False, "%s error reading buckets" % go_net_error("POST", url, e)
    if status != 200:
        # influxdb-client-go's Error(): "<code>: <message>" from the JSON error body
        try:
            err = json.loads(text)
            what = "%s: %s" % (err["code"], err["message"])
        except (ValueError, KeyError, TypeError):
            what = "Unexpected status code %d" % status
        return False, "%s error reading buckets" % what
    # the first table's rows: data lines of annotated CSV up to the first blank line
    rows, seen = 0, False
    for line in text.splitlines():
        if not line.strip():
            if seen:
                break
            continue
        if line.startswith("#"):
            continue
        if not seen:
            seen = True          # the header line
            continue
        rows += 1
    if rows == 0:
        return False, "error getting flux query buckets "
    return True, "datasource is working. %d buckets found" % rows


def influx_influxql_health(ds):
    """SHOW measurements through <url>/query?db=<database>&epoch=ms, GET or POST
    (jsonData.httpMode), with basic auth from basicAuth/basicAuthUser or
    user/password (the plugin SDK's HTTPClientOptions) and the custom headers
    jsonData.httpHeaderNameN / secureJsonData.httpHeaderValueN."""
    mode = ds["jsonData"].get("httpMode") or "GET"
    if mode not in ("GET", "POST"):
        return False, "'httpMode' should be either 'GET' or 'POST' error creating influxDB healthcheck request"
    _, url, data, headers = influxql_request(ds, "SHOW measurements")
    try:
        status, text = health_call(url, data, headers, mode)
    except OSError as e:
        return False, "%s error performing influxQL query" % go_net_error(mode, url, e)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {}
    if status // 100 != 2:
        err = doc.get("error") if isinstance(doc, dict) else None
        return False, "InfluxDB returned error: %s error reading influxDB" % (err or "status code %d" % status)
    results = doc.get("results") or [{}]
    if results[0].get("error"):
        return False, "%s error reading influxDB" % results[0]["error"]
    series = results[0].get("series") or []
    if not series:
        return True, "datasource is working. 0 measurements found"
    return True, "datasource is working. %d measurements found" % len(series[0].get("values") or [])


# ---------------------------------------------------------------- HTTP

class Server(stand_in.Server):
    request_queue_size = 64

    def __init__(self, addr, state, api, log):
        self.state = state
        self.api = api
        super().__init__(addr, Handler, log)


class Handler(stand_in.Handler):
    timeout = 120

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj, indent=None):
        data = go_json(obj, indent).encode("utf-8")
        self.send_response(status)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Type", JSON_CT)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "deny")
        self.send_header("X-Xss-Protection", "1; mode=block")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # -- auth
    def authenticate(self, st):
        """(kind, user, error) with kind basic | bearer | none | invalid."""
        h = self.headers.get("Authorization")
        if not h:
            return "none", None, auth_error("Unauthorized", "auth.unauthorized", extra_null=True)
        scheme, _, cred = h.partition(" ")
        cred = cred.strip()
        bad_key = auth_error("Invalid API key", "api-key.invalid")
        if scheme.lower() == "bearer":
            uid = next((u for t, u in st.tokens.items()
                        if hmac.compare_digest(t.encode(), cred.encode())), None)
            if uid is None or uid not in st.users:
                return "invalid", None, bad_key
            return "bearer", st.users[uid], None
        if scheme.lower() == "basic":
            try:
                login, _, password = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return "invalid", None, auth_error("Invalid Basic Auth Header", "basic-auth.invalid")
            if login == "api_key":
                uid = next((u for t, u in st.tokens.items()
                            if hmac.compare_digest(t.encode(), password.encode())), None)
                if uid is None or uid not in st.users:
                    return "invalid", None, bad_key
                return "bearer", st.users[uid], None
            u = st.user_by_login_or_email(login)
            if u is None or not u["password"] or \
                    not hmac.compare_digest(u["password"].encode(), password.encode()):
                return "invalid", None, auth_error("Invalid username or password", "password-auth.failed")
            if u["isDisabled"]:
                return "invalid", None, auth_error("User is disabled", "user.disabled")
            return "basic", u, None
        return "invalid", None, auth_error("Unauthorized", "auth.unauthorized", extra_null=True)

    def dispatch(self):
        st = self.server.state
        parts = urlsplit(self.path)
        raw = parts.path
        if len(raw) > 1 and raw.endswith("/"):
            raw = raw[:-1]
        q = parse_qs(parts.query, keep_blank_values=True)
        method = self.command
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if raw == "/__test" or raw.startswith("/__test/"):
            with st.lock:
                self.control(method, unquote(raw), q, body)
            return
        rec = {"seq": None, "method": method, "path": unquote(raw),
               "query": {k: (v[0] if len(v) == 1 else v) for k, v in q.items()},
               "status": None, "org": None, "auth": None, "user": None,
               "orgHeader": self.headers.get("X-Grafana-Org-Id")}
        try:
            body_json = json.loads(body.decode("utf-8")) if body.strip() else None
            rec["body"] = redact(body_json)
        except (ValueError, UnicodeDecodeError):
            rec["body"] = "<%d bytes, not JSON>" % len(body)
        try:
            with st.lock:
                status, obj, indent = self.answer(st, method, raw, q, body, rec)
        except Exception:  # a bug here: answer as Grafana does for plain errors
            self.server.handle_error(self.request, self.client_address)
            status, obj, indent = 500, {"message": "Internal Server Error"}, None
        rec["status"] = status
        st.log_request(rec)
        self.server.log.write("%s %s%s -> %d org=%s auth=%s user=%s" % (
            method, rec["path"], "?" + parts.query if parts.query else "", status,
            rec["org"], rec["auth"], rec["user"]))
        self.send_json(status, obj, indent)

    def answer(self, st, method, raw, q, body, rec):
        fault = st.take_fault(method, unquote(raw))
        if fault is not None:
            rec["fault"] = True
            b = fault.get("body", {"message": "injected fault (HTTP %d)" % fault["status"]})
            return int(fault["status"]), b, None
        segs = raw.split("/")
        path = "/".join(quote(unquote(s), safe="") if i else s for i, s in enumerate(segs))
        for m, rx, fn, scope in ROUTES:
            mo = rx.match(path)
            if not mo:
                continue
            if m != method and not (m == "GET" and method == "HEAD"):
                continue
            params = {k: unquote(v) for k, v in mo.groupdict().items()}
            rec["route"] = fn.__name__
            try:
                ctx = None
                if scope != "public":
                    ctx = self.context(st, rec, scope)
                res = fn(self.server.api, ctx, params, q, body)
            except ApiError as e:
                # response.Error / DashboardErr.Body / deny() marshal Go maps: sorted keys
                return e.status, dict(sorted(e.body.items())), None
            status, obj = res[0], res[1]
            return status, obj, res[2] if len(res) > 2 else None
        # the router answers an unknown method on a known path like an unknown path
        return 404, {"message": "Not found"}, None

    def context(self, st, rec, scope):
        kind, user, err = self.authenticate(st)
        rec["auth"] = kind
        if err is not None:
            raise err
        rec["user"] = user["login"]
        if kind == "bearer":
            org_id = user["orgId"]          # service accounts ignore X-Grafana-Org-Id
        else:
            org_id = user["orgId"]
            hdr = self.headers.get("X-Grafana-Org-Id")
            if hdr:
                try:
                    if int(hdr) > 0:
                        org_id = int(hdr)
                except ValueError:
                    pass
        role = st.org_role(org_id, user["id"]) if org_id in st.orgs else None
        if role is None:
            # user store GetSignedInUser (12.x): a user outside the org it asks
            # for (X-Grafana-Org-Id) is signed in with OrgID -1 ("Org missing")
            # and no role, so every org-scoped permission check fails
            org_id = -1
        ctx = Ctx(user, kind, org_id, role)
        ctx.teams = st.team_ids_of(user["id"], org_id)
        rec["org"] = org_id
        if scope == "server" and not ctx.server_admin:
            raise denied("users:read" if "/users" in rec["path"] else "orgs:read")
        if scope == "org" and ctx.role is None:
            # authorize() with no permission in org -1; test server: the action
            # named is the route's when declared, else a generic one
            raise denied(ROUTE_ACTIONS.get(rec["route"], "org membership"))
        return ctx

    # -- control API
    def control(self, method, path, q, body):
        st = self.server.state
        api = self.server.api
        if path == "/__test/requests" and method == "GET":
            return self.send_json(200, list(st.requests))
        if path == "/__test/requests" and method == "DELETE":
            st.requests = []
            return self.send_json(200, {"cleared": True})
        if path == "/__test/reset" and method == "POST":
            st.reset()
            return self.send_json(200, {"reset": True})
        if path == "/__test/state" and method == "GET":
            org = qint(q, "org", 0) or None
            return self.send_json(200, api.state_dump(org))
        if path == "/__test/faults" and method == "GET":
            return self.send_json(200, list(st.faults))
        if path == "/__test/faults" and method == "POST":
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return self.send_json(400, {"message": "bad JSON"})
            rules = data if isinstance(data, list) else [data]
            for r in rules:
                if not isinstance(r, dict) or not isinstance(r.get("status"), int) or \
                        not isinstance(r.get("times", 1), int):
                    return self.send_json(400, {"message": 'a fault is {"path", "status", ...}'})
            st.faults.extend(rules)
            return self.send_json(200, {"queued": len(rules)})
        return self.send_json(404, {"message": "unknown control endpoint %s %s" % (method, path)})


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="Grafana HTTP API stand-in for tests (see the module doc).")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0: a free one")
    ap.add_argument("--port-file", help="where to write the port once listening")
    ap.add_argument("--admin-user", default="admin", help="login of the server admin (default admin)")
    ap.add_argument("--admin-password",
                    help="its password (default: $GRAFANA_TEST_ADMIN_PASSWORD, else admin)")
    ap.add_argument("--sa-token", help="service-account token accepted as Bearer "
                                       "(default: $GRAFANA_TEST_SA_TOKEN; none without either)")
    ap.add_argument("--sa-role", default="Admin", choices=["Viewer", "Editor", "Admin"],
                    help="org 1 role of the service account (default Admin)")
    ap.add_argument("--log", help="request log file (never holds passwords or tokens)")
    ap.add_argument("--version", default=DEFAULT_VERSION, help="version reported (default %(default)s)")
    args = ap.parse_args(argv)
    password = args.admin_password or os.environ.get("GRAFANA_TEST_ADMIN_PASSWORD") or "admin"
    token = args.sa_token or os.environ.get("GRAFANA_TEST_SA_TOKEN") or None

    log = stand_in.Log(args.log, now_iso)
    state = State(args.admin_user, password, token, args.sa_role)
    server = Server(("127.0.0.1", args.port), state, Api(state, args.version), log)
    return stand_in.serve(server, args.port_file,
                          lambda port: "listening on 127.0.0.1:%d, Grafana %s" % (port, args.version))

if __name__ == "__main__":
    sys.exit(main())
