#!/usr/bin/env bats
# shellcheck disable=SC2016  # Python programs in single quotes (their backticks are Markdown)
# hooks/on-upload.sh run as SFTPGo's Event Manager runs it, with the action
# and rules of docs/deployment-hook.md: the JSON block after the
# "eventrule.json" marker is read here, so that the docs and this test
# cannot drift. For each filesystem event, the rules decide whether the
# action runs (event, status filter, path filter, as SFTPGo matches them),
# and the hook then gets exactly the action's env_vars, the placeholders
# replaced as SFTPGo replaces them (internal/common/eventmanager.go:
# executeCommandRuleAction), a value of "$" taken from SFTPGo's own
# environment, and nothing else (env -i). The rule passes no settings: the
# hook is a copy in a checkout of its own, its settings in that checkout's
# .env, as a checkout's hook finds them. The parser writes to a file
# (TSV_OUTPUT): no database; the playbook is the fake ansible-playbook of
# helpers.bash.

load helpers

DOC="$BATS_TEST_DIRNAME/../../docs/deployment-hook.md"

setup() {
    hook_setup
    CHECKOUT="$BATS_TEST_TMPDIR/checkout"
    mkdir -p "$CHECKOUT/hooks" "$CHECKOUT/build"
    cp "$HOOK" "$CHECKOUT/hooks/on-upload.sh"
    # a checkout's own build, which reads the .env for the hook
    ln -s "$(realpath "$TSV_PARSER")" "$CHECKOUT/build/tsv_parser"
    RULE_HOOK="$CHECKOUT/hooks/on-upload.sh"
    mv "$ENVF" "$CHECKOUT/.env"
    ENVF="$CHECKOUT/.env"
    unset POWERVIEW_ENV_FILE
    # the SFTP user logger1 has the company folder as its home: the paths it
    # sees (the rules' path filters match these) start below it
    HOME_DIR="$DATA/acme"
    F="$DEV/f.tsv"
    # the data file: the JSON block after the marker
    RULES="$BATS_TEST_TMPDIR/eventrule.json"
    py -c '
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
block = re.compile(r"```json\n(.*?)\n```", re.S).search(text, text.index("<!-- eventrule.json:"))
sys.stdout.write(block.group(1))
' "$DOC" >"$RULES"
}

teardown() {
    show_log
}

# rule_env EVENT FSPATH STATUS: for each rule of the docs' data file that
# this event matches, the environment of its action, NAME=VALUE each
# followed by a NUL byte. Nothing when no rule matches. SFTPGO_SYNTAX=2.6
# replaces the placeholders as SFTPGo 2.6 does ({{Event}}), RULE_DOC=2.6
# first converts the data file as the docs say for 2.6.
rule_env() {
    local vpath=/${2#"$HOME_DIR"/}
    py -c '
import json, os, posixpath, re, sys
event, fspath, status, vpath, data_file = sys.argv[1:6]
raw = open(data_file, encoding="utf-8").read()
if os.environ.get("RULE_DOC") == "2.6":
    raw = raw.replace("{{.", "{{").replace("\"version\": 17", "\"version\": 16")
dump = json.loads(raw)
actions = {a["name"]: a for a in dump["event_actions"]}

def glob(pattern, name):
    # path.Match, or doublestar when the pattern holds "**"
    rx = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("/**/", i):
            rx += "/(?:.*/)?"
            i += 4
        elif pattern.startswith("**", i):
            rx += ".*"
            i += 2
        elif pattern[i] == "*":
            rx += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(pattern[i])
            i += 1
    return re.fullmatch(rx, name) is not None

def matches(patterns, name):
    if not patterns:
        return True
    hit = False
    for p in patterns:
        m = glob(p["pattern"], name)
        if p.get("inverse_match"):
            if not m:
                return False
            hit = True
        elif m:
            return True
    return hit

values = {
    "Name": "logger1", "Event": event, "Status": status, "VirtualPath": vpath,
    "FsPath": fspath, "ObjectName": posixpath.basename(vpath),
    "Ext": posixpath.splitext(vpath)[1], "VirtualDirPath": posixpath.dirname(vpath),
    "Protocol": "SFTP", "IP": "127.0.0.1", "Role": "", "Email": "",
}
if os.environ.get("SFTPGO_SYNTAX") == "2.6":
    placeholder = re.compile(r"\{\{(\w+)\}\}")
else:
    placeholder = re.compile(r"\{\{\.(\w+)\}\}")

out = []
ran = 0
for rule in dump["event_rules"]:
    cond = rule["conditions"]
    opts = cond.get("options", {})
    if rule.get("status") != 1 or rule.get("trigger") != 1:
        continue
    if event not in cond.get("fs_events", []):
        continue
    if not matches(opts.get("names"), "logger1") or not matches(opts.get("fs_paths"), vpath):
        continue
    if opts.get("event_statuses") and int(status) not in opts["event_statuses"]:
        continue
    for ref in rule["actions"]:
        ran += 1
        cfg = actions[ref["name"]]["options"]["cmd_config"]
        for kv in cfg.get("env_vars", []):
            key, value = kv["key"], kv["value"]
            if value == "$" and not key.upper().startswith("SFTPGO_"):
                value = os.environ.get(key, "")
            else:
                value = placeholder.sub(lambda m: values.get(m.group(1), m.group(0)), value)
            out.append(f"{key}={value}")
# two actions run for one event would run the hook twice
assert ran <= 1, f"{ran} actions run for {event} {vpath}"
sys.stdout.write("".join(v + "\0" for v in out))
' "$1" "$2" "$3" "$vpath" "$RULES"
}

# sftpgo_event EVENT FSPATH [STATUS]: what SFTPGo does for this event with the
# documented rules: RULE_RAN=1 and the hook run (bats' run: $status, $output,
# $stderr) when a rule matches, RULE_RAN=0 otherwise.
sftpgo_event() {
    local -a vars
    local envs="$BATS_TEST_TMPDIR/rule.env"
    RULE_RAN=0
    rule_env "$1" "$2" "${3:-1}" >"$envs"
    [ -s "$envs" ] || return 0
    RULE_RAN=1
    mapfile -d '' vars <"$envs"
    run --separate-stderr env -i "${vars[@]}" "$RULE_HOOK"
}

# ------------------------------------------------------------------ the data file

@test "the documented data file: one command action, env only, rules for upload (status 1, .tsv) and mkdir" {
    py -c '
import json, sys
dump = json.load(open(sys.argv[1], encoding="utf-8"))
text = open(sys.argv[2], encoding="utf-8").read()
assert dump["version"] == 17, dump["version"]
(action,) = dump["event_actions"]
assert action["type"] == 2, action  # command
cfg = action["options"]["cmd_config"]
assert cfg["cmd"] == "/usr/lib/powerview/on-upload.sh", cfg["cmd"]
assert 1 <= cfg["timeout"] <= 120, cfg["timeout"]  # what SFTPGo accepts
assert not cfg.get("args"), cfg.get("args")  # the hook reads its environment
env = {kv["key"]: kv["value"] for kv in cfg["env_vars"]}
assert len(env) == len(cfg["env_vars"]), cfg["env_vars"]
assert env == {
    "SFTPGO_ACTION": "{{.Event}}",
    "SFTPGO_ACTION_PATH": "{{.FsPath}}",
    "SFTPGO_ACTION_STATUS": "{{.Status}}",
    "SFTPGO_ACTION_USERNAME": "{{.Name}}",
    "PATH": "$",
}, env
rules = {r["name"]: r for r in dump["event_rules"]}
assert set(rules) == {"powerview-upload", "powerview-mkdir"}, set(rules)
for r in rules.values():
    assert r["status"] == 1 and r["trigger"] == 1, r  # enabled, filesystem events
    assert [a["name"] for a in r["actions"]] == [action["name"]], r
    # execute_sync: off (SFTPGo refuses it for mkdir; for upload it would delete the upload on failure)
    assert not any(a.get("relation_options", {}).get("execute_sync") for a in r["actions"]), r
up = rules["powerview-upload"]["conditions"]
assert up["fs_events"] == ["upload"], up
assert up["options"]["event_statuses"] == [1], up
assert rules["powerview-mkdir"]["conditions"]["fs_events"] == ["mkdir"]
# what the docs tell the WebAdmin user to type is the same
flat = " ".join(text.split())
for key, value in env.items():
    assert f"`{key}` = `{value}`" in flat, (key, value)
assert "timeout `%d`" % cfg["timeout"] in flat, cfg["timeout"]
assert "Path filters*: `" + up["options"]["fs_paths"][0]["pattern"] + "`" in flat, up
' "$RULES" "$DOC"
}

# ------------------------------------------------------------------ upload

@test "upload, status 1: the rule runs the hook with only its env, the file is ingested (sync)" {
    env_add POWERVIEW_INGEST=sync
    ok "$F" 7
    sftpgo_event upload "$F" 1
    assert_eq "$RULE_RAN" 1 "rule ran"
    assert_status 0
    assert_quiet
    assert_no_file "$F"
    assert_file "$DEV/parsed/f.tsv"
    assert_values 7
    assert_log "upload '$F' by user 'logger1': tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
}

@test "upload, status 1, default spool mode: the hook hands the file over, its worker ingests it" {
    ok "$F" 5
    sftpgo_event upload "$F" 1
    assert_eq "$RULE_RAN" 1 "rule ran"
    assert_status 0
    assert_quiet
    assert_log "upload '$F' by user 'logger1': tsv_parser spool exit 0: spooled as"
    assert_log "upload '$F' by user 'logger1': worker started (pid"
    # the worker, started from a hook that had nothing but the rule's env
    for _ in $(seq 100); do
        [ ! -e "$DEV/parsed/f.tsv" ] || break
        sleep 0.1
    done
    assert_file "$DEV/parsed/f.tsv"
    assert_values 5
}

@test "upload, status 2 and 3: the documented rule does not run; without its status filter the hook skips them" {
    ok "$F"
    for s in 2 3; do
        sftpgo_event upload "$F" "$s"
        assert_eq "$RULE_RAN" 0 "rule ran for status $s"
    done
    # a rule with no status filter: the hook gets the status and skips
    run --separate-stderr env -i SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" SFTPGO_ACTION_STATUS=2 SFTPGO_ACTION_USERNAME=logger1 "$RULE_HOOK"
    assert_status 0
    assert_log "upload of '$F' by user 'logger1' failed (status 2: error, partial file): not ingested"
    run --separate-stderr env -i SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" SFTPGO_ACTION_STATUS=3 SFTPGO_ACTION_USERNAME=logger1 "$RULE_HOOK"
    assert_status 0
    assert_log "upload of '$F' by user 'logger1' failed (status 3: quota exceeded): not ingested"
    assert_file "$F"
    assert_no_file "$OUT"
    run grep -c 'running tsv_parser' "$LOG"
    assert_eq "$output" 0
}

@test "upload of a file that is not .tsv: the rule's path filter does not run the hook" {
    mkfile "$DEV/notes.txt" hello
    sftpgo_event upload "$DEV/notes.txt" 1
    assert_eq "$RULE_RAN" 0 "rule ran"
    # the filter crosses folders: a .tsv at any depth matches
    ok "$HOME_DIR/top.tsv"
    rule_env upload "$HOME_DIR/top.tsv" 1 >"$BATS_TEST_TMPDIR/top.env"
    [ -s "$BATS_TEST_TMPDIR/top.env" ]
}

# ------------------------------------------------------------------ mkdir

@test "mkdir of a campaign: the rule runs the hook, ansible-playbook gets the company and campaign" {
    mkdir -p "$HOME_DIR/camp2"
    sftpgo_event mkdir "$HOME_DIR/camp2" 1
    assert_eq "$RULE_RAN" 1 "rule ran"
    assert_status 0
    assert_quiet
    assert_playbook acme camp2
    assert_log "mkdir '$HOME_DIR/camp2' by user 'logger1': creating the Grafana resources of company 'acme', campaign 'camp2'"
    assert_log "Grafana resources created for company 'acme', campaign 'camp2'"
}

@test "mkdir of a device folder: the hook logs it and does nothing" {
    mkdir -p "$DEV"
    sftpgo_event mkdir "$DEV" 1
    assert_eq "$RULE_RAN" 1 "rule ran"
    assert_status 0
    assert_log "mkdir '$DEV' by user 'logger1': device level or deeper: nothing to do"
    assert_not_called
}

# ------------------------------------------------------------------ other events, versions

@test "other events through the same action (download, delete, rename): nothing done, exit 0" {
    ok "$F"
    # the documented rules do not fire for them
    for ev in download delete rename; do
        sftpgo_event "$ev" "$F" 1
        assert_eq "$RULE_RAN" 0 "rule ran for $ev"
    done
    # an action on a rule that adds them: the hook does nothing
    for ev in download delete rename; do
        run --separate-stderr env -i SFTPGO_ACTION="$ev" SFTPGO_ACTION_PATH="$F" SFTPGO_ACTION_STATUS=1 SFTPGO_ACTION_USERNAME=logger1 "$RULE_HOOK"
        assert_status 0
        assert_log "action '$ev' by user 'logger1': nothing to do"
    done
    assert_file "$F"
    assert_no_file "$OUT"
    assert_not_called
}

@test "SFTPGo 2.6: the data file converted as the docs say, placeholders without the dot: ingested" {
    env_add POWERVIEW_INGEST=sync
    ok "$F" 4
    RULE_DOC=2.6 SFTPGO_SYNTAX=2.6 sftpgo_event upload "$F" 1
    assert_eq "$RULE_RAN" 1 "rule ran"
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
    assert_values 4
}

@test "placeholders of the other SFTPGo version reach the hook unreplaced: ERROR, 64, nothing done" {
    ok "$F"
    # the 2.7 file on SFTPGo 2.6: {{.Event}} stays
    SFTPGO_SYNTAX=2.6 sftpgo_event upload "$F" 1
    assert_eq "$RULE_RAN" 1 "rule ran"
    assert_status 64
    assert_log "ERROR: SFTPGO_ACTION is '{{.Event}}': a placeholder SFTPGo did not replace"
    # the 2.6 form typed into SFTPGo 2.7: {{Event}} stays
    RULE_DOC=2.6 sftpgo_event mkdir "$HOME_DIR/camp3" 1
    assert_status 64
    assert_log "ERROR: SFTPGO_ACTION is '{{Event}}': a placeholder SFTPGo did not replace"
    # a status placeholder alone, too
    run --separate-stderr env -i SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" SFTPGO_ACTION_STATUS='{{Status}}' "$RULE_HOOK"
    assert_status 64
    assert_log "ERROR: SFTPGO_ACTION_STATUS is '{{Status}}': a placeholder SFTPGo did not replace"
    assert_file "$F"
    assert_no_file "$OUT"
    assert_not_called
}
