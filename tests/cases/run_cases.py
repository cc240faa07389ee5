#!/usr/bin/env python3
"""Run tsv_parser's data cases (tests/cases/<name>/), one report line per case.

Usage:
    run_cases.py [--tsv-parser PATH] [--show] [CASE_DIR...]   # default: every case here

A case is a folder of files:
    input.tsv       the file, placed at data/acme/camp1/02001171/input.tsv; or
    data/           several files under <company>/<campaign>/<device>/
    expected.lp     the line protocol of `tsv_parser --dry-run -o FILE` (values
                    compared as doubles, as tests/cli/helpers.bash's lp_norm does)
    expected.json   a subset of the run report, checked key by key (see subset());
                    "exit_code" is the command's exit status; "files" maps a path
                    relative to data/ to a subset of that file's object
    env             optional: settings, KEY=VALUE lines (# comments)
    args            optional: more arguments, one a line

Each case runs in its own temporary folder with a cleared environment (PATH,
LANG, TSV_MIN_AGE=0 and the case's env only), so no .env, report folder or
setting of the caller leaks in. --show prints what the parser gave, to write
a new case's expected files (check them against the data contract by hand).
Python 3 standard library only.
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PARSER = os.path.join(HERE, "..", "..", "build", "tsv_parser")
DEFAULT_PLACE = "acme/camp1/02001171/input.tsv"
NUM = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
TIMEOUT = 60


def lp_norm(text):
    """Line protocol -> list of lines, the field value as repr(float) when it is
    a plain decimal float (242.25 == 242.250 == 2.4225e2; -0.0 != 0)."""
    out = []
    for line in text.splitlines():
        parts = re.split(r"(?<!\\) ", line)
        if len(parts) == 3 and "=" in parts[1]:
            key, val = parts[1].rsplit("=", 1)
            if NUM.match(val):
                f = float(val)
                if math.isfinite(f):
                    val = repr(f)
            line = " ".join([parts[0], key + "=" + val, parts[2]])
        out.append(line)
    return out


def strict_json(text):
    def bad(c):
        raise ValueError("invalid JSON constant " + c)
    return json.loads(text, parse_constant=bad)


def subset(where, exp, act, errors):
    """Every key of exp is in act with an equal value (dicts recursively,
    lists element by element, numbers as numbers, a "mean" within 1e-12
    relative: the sum's order may differ in the last bit)."""
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            errors.append("%s: expected an object, got %r" % (where, act))
            return
        for k, v in exp.items():
            if k not in act:
                errors.append("%s: missing key %r" % (where, k))
            else:
                subset("%s.%s" % (where, k), v, act[k], errors)
    elif isinstance(exp, list):
        if not isinstance(act, list) or len(act) != len(exp):
            errors.append("%s: expected %r, got %r" % (where, exp, act))
            return
        for i, (e, a) in enumerate(zip(exp, act)):
            subset("%s[%d]" % (where, i), e, a, errors)
    elif isinstance(exp, float) and where.endswith(".mean") and isinstance(act, (int, float)):
        if not math.isclose(exp, act, rel_tol=1e-12, abs_tol=1e-300):
            errors.append("%s: expected %r, got %r" % (where, exp, act))
    elif type(exp) is not type(act) and not (
            isinstance(exp, (int, float)) and isinstance(act, (int, float))
            and not isinstance(exp, bool) and not isinstance(act, bool)):
        errors.append("%s: expected %r, got %r" % (where, exp, act))
    elif exp != act:
        errors.append("%s: expected %r, got %r" % (where, exp, act))


def read_lines(path):
    """Non-blank, non-comment lines of an optional file."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.lstrip().startswith("#")]


def case_env(case, tmp):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "HOME": tmp, "TSV_MIN_AGE": "0", "TSV_REPORT_DIR": os.path.join(tmp, "reports"),
           # no /etc/powerview/powerview.yaml of the machine: an empty file of the case's own
           "POWERVIEW_CONFIG": os.path.join(tmp, "powerview.yaml")}
    for line in read_lines(os.path.join(case, "env")):
        key, sep, val = line.partition("=")
        if not sep:
            raise ValueError("env: not KEY=VALUE: %r" % line)
        env[key.strip()] = val
    return env


def run_parser(parser, case, tmp):
    """Copy the case's input under tmp/data, run the dry run; return
    (exit status, line protocol text, report text, stderr text)."""
    data = os.path.join(tmp, "data")
    if os.path.isdir(os.path.join(case, "data")):
        shutil.copytree(os.path.join(case, "data"), data)
    else:
        dest = os.path.join(data, *DEFAULT_PLACE.split("/"))
        os.makedirs(os.path.dirname(dest))
        shutil.copyfile(os.path.join(case, "input.tsv"), dest)
    open(os.path.join(tmp, "powerview.yaml"), "w").close()
    lp = os.path.join(tmp, "out.lp")
    cmd = [parser, "-d", data, "--dry-run", "-o", lp] + read_lines(os.path.join(case, "args"))
    p = subprocess.run(cmd, cwd=tmp, env=case_env(case, tmp), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=TIMEOUT)
    text = ""
    if os.path.exists(lp):
        with open(lp, encoding="utf-8") as f:
            text = f.read()
    return p.returncode, text, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def report_by_path(report, data):
    """The report with "files" as {path relative to data/: file object}."""
    out = dict(report)
    files = {}
    for f in report.get("files") or []:
        files[os.path.relpath(f.get("file_path", ""), data)] = f
    out["files"] = files
    return out


def check_case(parser, case, show=False):
    """Run one case; return the list of differences (empty: it passes)."""
    errors = []
    with tempfile.TemporaryDirectory(prefix="pv-case-") as tmp:
        tmp = os.path.realpath(tmp)
        rc, lp, out, err = run_parser(parser, case, tmp)
        if show:
            print("--- exit status %d\n--- line protocol:\n%s--- report:\n%s--- stderr:\n%s"
                  % (rc, lp, out, err))
        try:
            report = report_by_path(strict_json(out), os.path.join(tmp, "data"))
        except ValueError as e:
            return ["the report is not JSON (%s); stderr: %s" % (e, err.strip())]
        with open(os.path.join(case, "expected.json"), encoding="utf-8") as f:
            exp = strict_json(f.read())
        want = exp.pop("exit_code", None)
        if want is not None and rc != want:
            errors.append("exit status %d, expected %d; stderr: %s" % (rc, want, err.strip()))
        subset("report", exp, report, errors)
        with open(os.path.join(case, "expected.lp"), encoding="utf-8") as f:
            exp_lp = lp_norm(f.read())
        act_lp = lp_norm(lp)
        if exp_lp != act_lp:
            errors.append("line protocol differs (- expected, + actual):")
            errors += ["  - " + l for l in exp_lp if l not in act_lp]
            errors += ["  + " + l for l in act_lp if l not in exp_lp]
            if sorted(exp_lp) == sorted(act_lp):
                errors.append("  (same lines, another order)")
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--tsv-parser", default=os.environ.get("TSV_PARSER", DEFAULT_PARSER))
    ap.add_argument("--show", action="store_true", help="print the parser's output of each case")
    ap.add_argument("cases", nargs="*", help="case folders (default: every one under tests/cases/)")
    args = ap.parse_args()
    cases = args.cases or sorted(
        os.path.join(HERE, d) for d in os.listdir(HERE)
        if os.path.isfile(os.path.join(HERE, d, "expected.json")))
    failed = 0
    for case in cases:
        name = os.path.basename(os.path.normpath(case))
        try:
            errors = check_case(os.path.abspath(args.tsv_parser), case, args.show)
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            errors = ["%s: %s" % (type(e).__name__, e)]
        print("%s %s" % ("ok  " if not errors else "FAIL", name))
        for e in errors:
            print("    " + e)
        failed += bool(errors)
    print("%d cases, %d failed" % (len(cases), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
