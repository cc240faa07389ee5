#!/usr/bin/env python3
"""Checks the deployment files: compose.yaml, .env.sample, deploy/Caddyfile.

usage: check_compose.py [--compose FILE] [--env-sample FILE] [--caddyfile FILE]

Defaults: the files of the repository this script lies in. Every check runs;
each failure is one line "FAIL: ..." on standard error. Exit status: 0 when
all pass (a line "ok: N checks" on standard output), 1 when any fails, 2 for
a usage error or a file that cannot be read.

compose.yaml: it parses; services influxdb and grafana exist, each with a
healthcheck and an image pinned to a full version (x.y.z, or a digest), never
:latest; every named volume a service mounts is declared, and the data
folders of both servers are on named volumes; every published port is bound
to 127.0.0.1 (short syntax "127.0.0.1:HOST:CONTAINER", long syntax host_ip:
127.0.0.1), no host networking; every ${VAR} it uses is listed in
.env.sample (as NAME= or #NAME=).
deploy/Caddyfile: the sites {$POWERVIEW_DOMAIN}, ftp.{$POWERVIEW_DOMAIN} and
db.{$POWERVIEW_DOMAIN} proxy to 127.0.0.1:3000 (Grafana), 127.0.0.1:8080
(SFTPGo's web UI) and 127.0.0.1:8086 (InfluxDB), and an ACME e-mail is set.

Needs python3 and its yaml module (Debian: python3-yaml).
"""

import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("check_compose.py: the python3 yaml module is missing (Debian: apt-get install python3-yaml)\n")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

LOOPBACK = "127.0.0.1"
REQUIRED_SERVICES = {
    # service: the folder its data lives in, which must be a named volume
    "influxdb": "/var/lib/influxdb2",
    "grafana": "/var/lib/grafana",
}
CADDY_SITES = {
    "{$POWERVIEW_DOMAIN}": "127.0.0.1:3000",
    "ftp.{$POWERVIEW_DOMAIN}": "127.0.0.1:8080",
    "db.{$POWERVIEW_DOMAIN}": "127.0.0.1:8086",
}


class Checker:
    def __init__(self):
        self.failures = []
        self.count = 0

    def check(self, ok, message):
        self.count += 1
        if not ok:
            self.failures.append(message)
        return ok


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        sys.stderr.write(f"check_compose.py: {path}: {e.strerror}\n")
        sys.exit(2)


# ---------------------------------------------------------------- compose.yaml

def image_pinned(image):
    """True for name:x.y.z[...] or name@sha256:..., never :latest."""
    if not isinstance(image, str) or not image:
        return False
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    if tag == "latest" or "$" in tag:
        return False
    return re.match(r"^v?\d+\.\d+\.\d+", tag) is not None


def healthcheck_ok(hc):
    if not isinstance(hc, dict) or hc.get("disable") is True:
        return False
    test = hc.get("test")
    if isinstance(test, str):
        return test.strip() != ""
    if isinstance(test, list) and test:
        if test[0] == "NONE":
            return False
        if test[0] in ("CMD", "CMD-SHELL"):
            return len(test) > 1 and all(isinstance(t, str) and t.strip() for t in test[1:])
        return all(isinstance(t, str) for t in test)
    return False


def short_port_host_ip(spec):
    """The host IP of a short-syntax port, "" when none is given, None when
    the string cannot be read. Forms: [IP:][HOST:]CONTAINER[/proto], IPv6 in
    brackets."""
    spec = spec.split("/", 1)[0]
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or spec[end + 1:end + 2] != ":":
            return None
        return spec[1:end]
    parts = spec.split(":")
    if len(parts) == 1:
        return ""  # container port only: a random host port on every interface
    if len(parts) == 2:
        return ""  # HOST:CONTAINER, every interface
    if len(parts) == 3:
        return parts[0]
    return None


def check_ports(c, name, ports):
    if ports is None:
        return
    if not isinstance(ports, list):
        c.check(False, f"compose: service {name}: ports is not a list")
        return
    for p in ports:
        if isinstance(p, dict):
            ip = p.get("host_ip")
            c.check(ip == LOOPBACK,
                    f"compose: service {name}: port {p.get('published', '?')}->{p.get('target', '?')} "
                    f"is bound to {ip or 'every interface'}, not {LOOPBACK}")
        elif isinstance(p, str):
            ip = short_port_host_ip(p)
            c.check(ip == LOOPBACK,
                    f"compose: service {name}: port \"{p}\" is bound to "
                    f"{'every interface' if ip == '' else ip if ip else 'an unreadable address'}, "
                    f"not {LOOPBACK}")
        else:
            c.check(False, f"compose: service {name}: port {p!r} (a number) is bound to every interface, "
                    f"not {LOOPBACK}")


def volume_source(v):
    """(source, target) of a service volume, short or long syntax."""
    if isinstance(v, dict):
        if v.get("type", "volume") != "volume":
            return None, v.get("target")
        return v.get("source"), v.get("target")
    if isinstance(v, str):
        parts = v.split(":")
        if len(parts) == 1:
            return None, parts[0]  # anonymous volume
        return parts[0], parts[1]
    return None, None


def is_named(source):
    return bool(source) and not source.startswith(("/", ".", "~", "$"))


def compose_variables(text):
    names = set()
    # $$ is a literal dollar sign
    for m in re.finditer(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)", text):
        if m.group(1):
            names.add(m.group(1))
        elif m.group(2):
            names.add(m.group(2))
    return names


def strip_comments(text):
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        out.append(re.sub(r"\s#.*$", "", line))
    return "\n".join(out)


def check_compose(c, path, env_sample_path):
    text = read(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        c.check(False, f"compose: {path} does not parse: {e}")
        return
    if not c.check(isinstance(doc, dict), f"compose: {path}: not a mapping at the top"):
        return
    services = doc.get("services")
    if not c.check(isinstance(services, dict) and services, "compose: no services"):
        return
    declared = doc.get("volumes") or {}
    if not isinstance(declared, dict):
        c.check(False, "compose: the top-level volumes is not a mapping")
        declared = {}

    for name, data_dir in REQUIRED_SERVICES.items():
        if not c.check(name in services, f"compose: service {name} is missing"):
            continue
        svc = services[name] or {}
        c.check(healthcheck_ok(svc.get("healthcheck")), f"compose: service {name} has no healthcheck")
        mounts = [volume_source(v) for v in svc.get("volumes") or []]
        c.check(any(is_named(s) and t == data_dir for s, t in mounts),
                f"compose: service {name}: {data_dir} is not on a named volume")

    for name, svc in services.items():
        svc = svc or {}
        image = svc.get("image")
        c.check(image_pinned(image),
                f"compose: service {name}: image {image!r} is not pinned to a version (x.y.z or a digest)")
        c.check(svc.get("network_mode") != "host",
                f"compose: service {name}: network_mode host publishes every port on every interface")
        check_ports(c, name, svc.get("ports"))
        for v in svc.get("volumes") or []:
            source, _ = volume_source(v)
            if is_named(source):
                c.check(source in declared,
                        f"compose: service {name}: volume {source} is not declared under volumes")

    sample = read(env_sample_path)
    listed = set(re.findall(r"^#?\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", sample, re.M))
    for var in sorted(compose_variables(strip_comments(text))):
        c.check(var in listed, f"compose: ${{{var}}} is not listed in {os.path.basename(env_sample_path)}")


# ---------------------------------------------------------------- Caddyfile

def caddy_braces(line):
    """The braces of a Caddyfile line that open or close blocks: placeholders
    ({$VAR}, {$VAR:default}, {host}) and quoted strings left out."""
    line = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', line)
    line = re.sub(r"\{\$?[A-Za-z_][A-Za-z0-9_.]*(?::[^{}]*)?\}", "X", line)
    return line.count("{"), line.count("}")


def caddy_blocks(text):
    """Top-level blocks of a Caddyfile: a list of (keys, lines of the block),
    keys empty for the global options block."""
    blocks = []
    depth = 0
    keys = None
    body = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = re.sub(r"\s+#.*$", "", line)
        opens, closes = caddy_braces(line)
        if depth == 0:
            if opens == 1 and closes == 0 and line.endswith("{"):
                keys = line[:-1].replace(",", " ").split()
                body = []
                depth = 1
            continue
        depth += opens - closes
        if depth <= 0:
            blocks.append((keys, body))
            depth = 0
        else:
            body.append(line)
    return blocks


def check_caddyfile(c, path):
    text = read(path)
    blocks = caddy_blocks(text)
    sites = {}
    globals_ = []
    for keys, body in blocks:
        if not keys:
            globals_.extend(body)
        if keys and keys[0].startswith("("):
            continue  # a snippet, imported by sites
        for k in keys or []:
            sites[k] = body
    c.check(any(re.match(r"^email\s+\S+", line) for line in globals_),
            "caddy: no email in the global options (Let's Encrypt)")
    for site, upstream in CADDY_SITES.items():
        if not c.check(site in sites, f"caddy: site {site} is missing"):
            continue
        proxies = [line.split()[1:] for line in sites[site] if line.startswith("reverse_proxy")]
        c.check(len(proxies) == 1 and proxies[0] == [upstream],
                f"caddy: site {site} does not proxy to {upstream} alone (reverse_proxy {proxies})")
    for site in sites:
        c.check(site in CADDY_SITES, f"caddy: unexpected site {site}")


def main():
    ap = argparse.ArgumentParser(description="check compose.yaml, .env.sample and deploy/Caddyfile")
    ap.add_argument("--compose", default=os.path.join(ROOT, "compose.yaml"))
    ap.add_argument("--env-sample", default=os.path.join(ROOT, ".env.sample"))
    ap.add_argument("--caddyfile", default=os.path.join(ROOT, "deploy", "Caddyfile"))
    args = ap.parse_args()
    c = Checker()
    check_compose(c, args.compose, args.env_sample)
    check_caddyfile(c, args.caddyfile)
    for f in c.failures:
        sys.stderr.write(f"FAIL: {f}\n")
    if c.failures:
        return 1
    print(f"ok: {c.count} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
