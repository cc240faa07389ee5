# shellcheck shell=bash
# shellcheck disable=SC2016,SC2154  # $1 in single quotes belongs to the inner bash -c; output and status come from bats
# The playbook tests' common part (ansible.bats, isolation.bats): the Grafana
# stand-in (tests/servers/grafana.py) and the InfluxDB 2 stand-in
# (tests/servers/influx2.py, for `tsv_parser token`) started once per file,
# reset before each test; ansible-playbook run the way hooks/on-upload.sh runs
# it: from the playbook's folder, the names as one JSON --extra-vars object.
#
#   play PLAYBOOK [ARGS...]     run; output/status by bats' run, CHANGED = the recap's count
#   play_ok PLAYBOOK [ARGS...]  the same, which must succeed
#   changed_tasks               the tasks reported changed in $output
#   names COMPANY CAMPAIGN      the extra-vars JSON of a company and campaign
#   gcheck PYTHON               asserts on the stand-in's state (s), with helpers
#   record_parser_calls         tsv_parser_bin becomes a wrapper that appends its
#                               arguments to $CALLS (never a token: it takes none)
#
# A file needing more servers defines its own setup_file/setup/teardown_file
# and calls playbooks_setup_file, playbooks_setup, playbooks_teardown_file.

load helpers
load ../servers/servers
load ../servers/grafana

ANSIBLE_DIR="$(cd "$BATS_TEST_DIRNAME/../../ansible" && pwd)"

setup_file() { playbooks_setup_file; }
teardown_file() { playbooks_teardown_file; }
setup() { playbooks_setup; }

playbooks_setup_file() {
    # (bats 1.8 cannot skip from setup_file: setup skips each test)
    if ! command -v ansible-playbook >/dev/null; then
        export PV_SKIP="ansible-playbook is not installed"
        return 0
    fi
    # Under valgrind (TSV_PARSER_REAL set) tsv_parser only prints tokens here,
    # which token.bats checks; the playbooks themselves do not change.
    if [ -n "${TSV_PARSER_REAL:-}" ]; then
        export PV_SKIP="the playbooks do not change under valgrind"
        return 0
    fi
    start_grafana "$BATS_FILE_TMPDIR/grafana"
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
    export INFLUX2_URL INFLUX2_TOKEN INFLUX2_ORG GRAFANA_PID
    # gcheck's library: s = the stand-in's state, helpers, the uid oracle
    cat >"$BATS_FILE_TMPDIR/gcheck.py" <<'PY'
import hashlib, json, os, re, sys, urllib.request

def load(org=None):
    url = os.environ["GRAFANA_URL"] + "/__test/state" + ("?org=%d" % org if org else "")
    return json.load(urllib.request.urlopen(url))

s = load()

def sha256(x):
    return hashlib.sha256(x.encode()).hexdigest()

def sha1(x):
    return hashlib.sha1(x.encode()).hexdigest()

def uid(company, campaign=None):
    """The uid rule: powerview_<names> when it fits 40 of [A-Za-z0-9_-], else
    pv_ + slug[:28] + _ + sha1[:8]."""
    raw = "powerview_" + company + ("" if campaign is None else "_" + campaign)
    if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", raw):
        return raw
    name = company if campaign is None else company + "_" + campaign
    key = company if campaign is None else company + "/" + campaign
    return "pv_" + re.sub(r"[^A-Za-z0-9_-]+", "_", name)[:28] + "_" + hashlib.sha1(key.encode()).hexdigest()[:8]

def one(kind, **kw):
    found = [x for x in s[kind] if all(x.get(k) == v for k, v in kw.items())]
    assert len(found) == 1, "%s %r: %d found" % (kind, kw, len(found))
    return found[0]

def perms(x):
    """permissions as a sorted list of (kind, name, permission)"""
    out = []
    for g in x["permissions"]:
        if "teamId" in g:
            out.append(("team", g.get("team"), g["permission"]))
        elif "userId" in g:
            out.append(("user", g.get("login"), g["permission"]))
        else:
            out.append(("role", g["role"], g["permission"]))
    return sorted(out)

def requests():
    return json.load(urllib.request.urlopen(os.environ["GRAFANA_URL"] + "/__test/requests"))

exec(sys.argv[1])
PY
}

playbooks_teardown_file() {
    stop_grafana
    stop_servers
}

playbooks_setup() {
    [ -z "${PV_SKIP:-}" ] || skip "$PV_SKIP"
    common_setup
    grafana_control POST /__test/reset >/dev/null
    influx2 POST /__test/reset >/dev/null
    unset INFLUXDB_URL INFLUXDB_API POWERVIEW_ENV_FILE POWERVIEW_SECRETS_DIR GRAFANA_INFLUXDB_URL GRAFANA_TENANCY GRAFANA_ORG_ID \
        GRAFANA_DATASOURCE_TYPE GRAFANA_QUERY_LANGUAGE INFLUXDB_USERNAME INFLUXDB_PASSWORD \
        http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    export ANSIBLE_CONFIG="$ANSIBLE_DIR/ansible.cfg" ANSIBLE_HOME="$BATS_TEST_TMPDIR/ansible-home"
    export ANSIBLE_LOCAL_TEMP="$BATS_TEST_TMPDIR/ansible-tmp" ANSIBLE_REMOTE_TEMP="$BATS_TEST_TMPDIR/ansible-tmp"
    export ANSIBLE_NOCOLOR=1
    export SECRETS="$BATS_TEST_TMPDIR/secrets"
    COMMON_VARS=$(common_vars "$TSV_PARSER")
    cd "$BATS_TEST_TMPDIR" || return 1
}

record_parser_calls() {
    CALLS="$BATS_TEST_TMPDIR/tsv_parser.calls"
    : >"$CALLS"
    local wrapper="$BATS_TEST_TMPDIR/tsv_parser_wrap"
    printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>%q\nexec %q "$@"\n' "$CALLS" "$TSV_PARSER" >"$wrapper"
    chmod +x "$wrapper"
    COMMON_VARS=$(common_vars "$wrapper")
}

# common_vars TSV_PARSER_BIN: the extra-vars every run takes
common_vars() {
    py -c 'import json, sys; print(json.dumps({"tsv_parser_bin": sys.argv[1], "powerview_secrets_dir": sys.argv[2]}))' \
        "$1" "$SECRETS"
}

# play PLAYBOOK [ARGS...]: ansible-playbook from the playbook's folder, as the
# hook runs it, with tsv_parser_bin and the secrets folder; output and status
# set by run, CHANGED = the PLAY RECAP's changed count
play() {
    local pb=$1
    shift
    run bash -c 'cd "$1" && shift && exec ansible-playbook "$@" </dev/null 2>&1' _ \
        "$ANSIBLE_DIR" "$pb" -e "$COMMON_VARS" "$@"
    CHANGED=$(sed -n 's/^localhost .* changed=\([0-9]*\) .*/\1/p' <<<"$output" | tail -n 1)
}

# play_ok PLAYBOOK [ARGS...]: play, which must succeed
play_ok() {
    play "$@"
    if [ "$status" -ne 0 ] || [ -z "$CHANGED" ]; then
        printf '%s\n' "$output"
        echo "ansible-playbook $1 failed with status $status"
        return 1
    fi
}

# changed_tasks: the names of the tasks reported changed in $output, one a line
changed_tasks() {
    awk '/^TASK \[/ { t = $0; sub(/^TASK \[/, "", t); sub(/\] \**$/, "", t) }
         /^changed: / { print t }' <<<"$output"
}

# names JSON: the extra-vars object of a company and campaign, as the hook builds it
names() {
    py -c 'import json, sys; print(json.dumps({"company_name": sys.argv[1], "campaign_name": sys.argv[2]}))' "$1" "$2"
}

# gcheck PYTHON: asserts on the stand-in's state (s) with gcheck.py's helpers
gcheck() {
    py "$BATS_FILE_TMPDIR/gcheck.py" "$1"
}
