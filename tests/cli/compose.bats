#!/usr/bin/env bats
# The deployment files: compose.yaml, .env.sample, deploy/Caddyfile and
# deploy/logrotate, checked by tests/deploy/check_compose.py (python3 and its
# yaml module, Debian's python3-yaml), then the checker fed broken copies, each
# of which it must refuse. When podman (podman compose, or podman-compose),
# caddy or logrotate are installed, they read the files too; otherwise those
# tests are skipped.
# shellcheck disable=SC2016  # ${VAR} and {$VAR} in single quotes are literal on purpose

bats_require_minimum_version 1.5.0

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
CHECK="$ROOT/tests/deploy/check_compose.py"

setup() {
	PY=
	local p
	for p in /usr/bin/python3 python3; do
		if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then
			PY=$p
			break
		fi
	done
	if [ -z "$PY" ]; then
		echo "no python3 with the yaml module (Debian: apt-get install python3-yaml)" >&2
		return 1
	fi
	W="$BATS_TEST_TMPDIR/w"
	mkdir -p "$W/deploy"
	cp "$ROOT/compose.yaml" "$ROOT/.env.sample" "$W/"
	cp "$ROOT/deploy/Caddyfile" "$ROOT/deploy/logrotate" "$W/deploy/"
}

# check: the checker on the copies in $W
check() {
	run "$PY" "$CHECK" --compose "$W/compose.yaml" --env-sample "$W/.env.sample" \
		--caddyfile "$W/deploy/Caddyfile"
}

# replace FILE OLD NEW: OLD must occur exactly once in FILE (the copy really changes)
replace() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
n = text.count(old)
if n != 1:
    sys.exit(f"{path}: {old!r} occurs {n} times, not once")
open(path, "w", encoding="utf-8").write(text.replace(old, new))
EOF
}

# refused MESSAGE: the checker exits 1 and prints MESSAGE in a FAIL line
refused() {
	check
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"FAIL: "*"$1"* ]]
}

# env_from_sample FILE: every NAME=VALUE of .env.sample, uncommented
env_from_sample() {
	sed -n 's/^#\([A-Za-z_][A-Za-z0-9_]*=.*\)$/\1/p' "$ROOT/.env.sample" >"$1"
}

@test "the repository's compose.yaml, .env.sample and Caddyfile pass" {
	run "$PY" "$CHECK"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "ok: "*" checks" ]]
}

@test "compose.yaml: influxdb and grafana, pinned, loopback ports, named volumes" {
	# what the checker relies on, read here independently of it
	run "$PY" - "$ROOT/compose.yaml" <<'EOF'
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
s = doc["services"]
# InfluxDB 2.8 or later (token hashing), never 3; Grafana 12 or 13 (service accounts)
assert re.fullmatch(r"docker\.io/library/influxdb:2\.(8|9|[1-9][0-9])\.[0-9]+", s["influxdb"]["image"]), s["influxdb"]["image"]
assert re.fullmatch(r"docker\.io/grafana/grafana:1[23]\.[0-9]+\.[0-9]+", s["grafana"]["image"]), s["grafana"]["image"]
assert s["influxdb"]["ports"] == ["127.0.0.1:8086:8086"], s["influxdb"]["ports"]
assert s["grafana"]["ports"] == ["127.0.0.1:3000:3000"], s["grafana"]["ports"]
assert set(doc["volumes"]) == {"influxdb-data", "influxdb-config", "grafana-data"}, doc["volumes"]
assert s["grafana"]["depends_on"]["influxdb"]["condition"] == "service_healthy"
for name in ("influxdb", "grafana"):
    assert s[name]["restart"] == "unless-stopped", name
env = s["grafana"]["environment"]
assert env["GF_USERS_ALLOW_SIGN_UP"] == "false" and env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
assert "GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS" not in env
assert "GF_INSTALL_PLUGINS" not in env
assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_PASSWORD:?")
assert s["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"].startswith("${INFLUXDB_ADMIN_TOKEN:?")
print("ok")
EOF
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a port published on 0.0.0.0 is refused" {
	replace "$W/compose.yaml" '"127.0.0.1:8086:8086"' '"0.0.0.0:8086:8086"'
	refused 'service influxdb: port "0.0.0.0:8086:8086" is bound to 0.0.0.0, not 127.0.0.1'
}

@test "a port published without an address (every interface) is refused" {
	replace "$W/compose.yaml" '"127.0.0.1:3000:3000"' '"3000:3000"'
	refused 'service grafana: port "3000:3000" is bound to every interface'
}

@test "a container port alone (random host port, every interface) is refused" {
	replace "$W/compose.yaml" '"127.0.0.1:3000:3000"' '"3000"'
	refused 'service grafana: port "3000" is bound to every interface'
}

@test "an IPv6 wildcard port is refused" {
	replace "$W/compose.yaml" '"127.0.0.1:8086:8086"' '"[::]:8086:8086"'
	refused 'port "[::]:8086:8086" is bound to ::, not 127.0.0.1'
}

@test "long-syntax ports: host_ip 127.0.0.1 passes, another address or none is refused" {
	replace "$W/compose.yaml" '      - "127.0.0.1:8086:8086"' \
		"$(printf '      - target: 8086\n        published: 8086\n        host_ip: 127.0.0.1')"
	check
	echo "$output"
	[ "$status" -eq 0 ]
	replace "$W/compose.yaml" 'host_ip: 127.0.0.1' 'host_ip: 0.0.0.0'
	refused 'service influxdb: port 8086->8086 is bound to 0.0.0.0, not 127.0.0.1'
	replace "$W/compose.yaml" '        host_ip: 0.0.0.0' '        protocol: tcp'
	refused 'service influxdb: port 8086->8086 is bound to every interface, not 127.0.0.1'
}

@test "a port given as a number is refused" {
	replace "$W/compose.yaml" '"127.0.0.1:3000:3000"' '3000'
	refused 'service grafana: port 3000 (a number) is bound to every interface'
}

@test "host networking is refused" {
	replace "$W/compose.yaml" '    restart: unless-stopped
    depends_on:' '    restart: unless-stopped
    network_mode: host
    depends_on:'
	refused 'service grafana: network_mode host'
}

@test "an image on :latest, without a tag or on a moving minor tag is refused" {
	replace "$W/compose.yaml" 'grafana:12.4.5' 'grafana:latest'
	refused "service grafana: image 'docker.io/grafana/grafana:latest' is not pinned"
	replace "$W/compose.yaml" 'grafana:latest' 'grafana'
	refused "service grafana: image 'docker.io/grafana/grafana' is not pinned"
	replace "$W/compose.yaml" 'influxdb:2.9.1' 'influxdb:2.9'
	refused "service influxdb: image 'docker.io/library/influxdb:2.9' is not pinned"
}

@test "a missing healthcheck is refused" {
	replace "$W/compose.yaml" '    healthcheck:
      # busybox wget' '    x-healthcheck:
      # busybox wget'
	refused 'service grafana has no healthcheck'
}

@test "a disabled healthcheck is refused" {
	replace "$W/compose.yaml" '["CMD-SHELL", "influx ping"]' '["NONE"]'
	refused 'service influxdb has no healthcheck'
}

@test "a missing service is refused" {
	replace "$W/compose.yaml" '  influxdb:
    image:' '  influx:
    image:'
	refused 'service influxdb is missing'
}

@test "an undeclared named volume is refused" {
	replace "$W/compose.yaml" '  grafana-data:
' ''
	refused 'service grafana: volume grafana-data is not declared'
}

@test "a data folder on a bind mount is refused" {
	replace "$W/compose.yaml" '- influxdb-data:/var/lib/influxdb2' '- /srv/influxdb:/var/lib/influxdb2'
	refused 'service influxdb: /var/lib/influxdb2 is not on a named volume'
}

@test "a compose variable missing from .env.sample is refused" {
	replace "$W/compose.yaml" '${INFLUXDB_RETENTION:-0}' '${INFLUXDB_INIT_RETENTION:-0}'
	refused '${INFLUXDB_INIT_RETENTION} is not listed in .env.sample'
	cp "$ROOT/compose.yaml" "$W/"
	replace "$W/.env.sample" '#GRAFANA_ROOT_URL=' '#GRAFANA_PUBLIC_URL='
	refused '${GRAFANA_ROOT_URL} is not listed in .env.sample'
}

@test "a compose.yaml that does not parse is refused" {
	replace "$W/compose.yaml" 'services:' 'services: ['
	refused 'does not parse'
}

@test "the Caddyfile: a missing site, or one proxying elsewhere, is refused" {
	replace "$W/deploy/Caddyfile" 'db.{$POWERVIEW_DOMAIN} {' 'influx.{$POWERVIEW_DOMAIN} {'
	refused 'caddy: site db.{$POWERVIEW_DOMAIN} is missing'
	cp "$ROOT/deploy/Caddyfile" "$W/deploy/"
	replace "$W/deploy/Caddyfile" 'reverse_proxy 127.0.0.1:8080' 'reverse_proxy 0.0.0.0:8080'
	refused 'caddy: site ftp.{$POWERVIEW_DOMAIN} does not proxy to 127.0.0.1:8080'
	cp "$ROOT/deploy/Caddyfile" "$W/deploy/"
	replace "$W/deploy/Caddyfile" '	email {$ACME_EMAIL}' ''
	refused 'caddy: no email'
}

@test "caddy reads the Caddyfile: three sites, certificates for each (skipped without caddy)" {
	command -v caddy >/dev/null || skip "caddy is not installed"
	run env -i PATH="$PATH" HOME="$BATS_TEST_TMPDIR" POWERVIEW_DOMAIN=pv.example.org \
		ACME_EMAIL=ops@example.org caddy adapt --config "$ROOT/deploy/Caddyfile" --adapter caddyfile
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | grep -v '^{"level"' >"$BATS_TEST_TMPDIR/caddy.json"
	run "$PY" - "$BATS_TEST_TMPDIR/caddy.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
routes = {}
for server in doc["apps"]["http"]["servers"].values():
    for r in server["routes"]:
        hosts = r["match"][0]["host"]
        dials = json.dumps(r)
        for h in hosts:
            routes[h] = dials
want = {"pv.example.org": "127.0.0.1:3000", "ftp.pv.example.org": "127.0.0.1:8080",
        "db.pv.example.org": "127.0.0.1:8086"}
assert set(routes) == set(want), routes.keys()
for h, up in want.items():
    assert '"dial": "%s"' % up in routes[h], (h, routes[h])
    assert "Strict-Transport-Security" in routes[h], h
issuers = doc["apps"]["tls"]["automation"]["policies"][0]["issuers"]
assert all(i.get("email") == "ops@example.org" for i in issuers), issuers
print("ok")
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	# without its variables Caddy refuses the file instead of serving every host
	run env -i PATH="$PATH" HOME="$BATS_TEST_TMPDIR" ACME_EMAIL=ops@example.org \
		caddy adapt --config "$ROOT/deploy/Caddyfile" --adapter caddyfile
	[ "$status" -ne 0 ]
}

@test "logrotate reads deploy/logrotate (skipped without logrotate)" {
	command -v logrotate >/dev/null || skip "logrotate is not installed"
	grep -q '^/srv/sftpgo/logs/uploads.log {' "$ROOT/deploy/logrotate"
	# the same file, for a log in the test folder and the current user
	local me grp
	me=$(id -un)
	grp=$(id -gn)
	mkdir -p "$BATS_TEST_TMPDIR/logs"
	echo line >"$BATS_TEST_TMPDIR/logs/uploads.log"
	sed -e "s|/srv/sftpgo/logs/|$BATS_TEST_TMPDIR/logs/|" -e "s/sftpgo sftpgo/$me $grp/" \
		"$ROOT/deploy/logrotate" >"$BATS_TEST_TMPDIR/logrotate.conf"
	run logrotate -d -s "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/logrotate.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"uploads.log"* ]]
	[[ $output != *"error"* ]]
}

# podman compose (Podman >= 4.7, or podman-compose with a config command):
# `config`; Debian 12's podman-compose 1.0.3 has no config command: `ps`,
# which reads and interpolates the file and only lists containers.
# podman-compose runs podman (its version first, whatever the command): it
# needs both. COMPOSE_MISSING says what is not there.
compose_cmd() {
	COMPOSE_MISSING=
	if command -v podman >/dev/null && podman compose version >/dev/null 2>&1; then
		COMPOSE=(podman compose)
		COMPOSE_READ='config'
	elif command -v podman-compose >/dev/null && ! command -v podman >/dev/null; then
		COMPOSE_MISSING="podman-compose is installed but not podman, which it runs"
		return 1
	elif command -v podman-compose >/dev/null; then
		COMPOSE=(podman-compose)
		if podman-compose --help 2>&1 | grep -qw config; then
			COMPOSE_READ='config'
		else
			COMPOSE_READ='ps'
		fi
	else
		COMPOSE_MISSING="neither podman compose nor podman-compose is installed"
		return 1
	fi
}

@test "podman compose reads compose.yaml with the variables of .env.sample (skipped without podman)" {
	compose_cmd || skip "$COMPOSE_MISSING"
	mkdir -p "$BATS_TEST_TMPDIR/pvcheck"
	cp "$ROOT/compose.yaml" "$BATS_TEST_TMPDIR/pvcheck/"
	env_from_sample "$BATS_TEST_TMPDIR/pvcheck/.env"
	cd "$BATS_TEST_TMPDIR/pvcheck"
	run "${COMPOSE[@]}" -f compose.yaml "$COMPOSE_READ"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *Traceback* ]]
	if [ "$COMPOSE_READ" = config ]; then
		[[ $output == *"127.0.0.1"* ]]
		[[ $output == *"influx ping"* ]]
	fi
}

@test "podman compose stops on a secret missing from .env (skipped without podman)" {
	compose_cmd || skip "$COMPOSE_MISSING"
	mkdir -p "$BATS_TEST_TMPDIR/pvcheck"
	cp "$ROOT/compose.yaml" "$BATS_TEST_TMPDIR/pvcheck/"
	env_from_sample "$BATS_TEST_TMPDIR/pvcheck/.env"
	sed -i '/^GRAFANA_PASSWORD=/d' "$BATS_TEST_TMPDIR/pvcheck/.env"
	cd "$BATS_TEST_TMPDIR/pvcheck"
	run env -u GRAFANA_PASSWORD "${COMPOSE[@]}" -f compose.yaml "$COMPOSE_READ"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"set GRAFANA_PASSWORD in .env"* ]]
}
