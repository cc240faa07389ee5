#!/usr/bin/env python3
"""Check examples/: make-examples.py --check, then a dry run of examples/data
compared with examples/expected.json.

Usage:
    check_examples.py [--tsv-parser PATH]

The dry run (`tsv_parser -d <copy of examples/data> --dry-run -o FILE`, in a
cleared environment with the settings expected.json was made for) must give
the run figures and exit code of "run", and for each file every figure of
expected.json that the report has (channels key by key, a mean within 1e-12
relative: the generator sums in another order), the first line of its line
protocol ("first_line_protocol", values compared as doubles), and an error
that starts with the expected one. Keys the report has no field for are
checked through what stands for them: "destination_dir" (a dry run moves
nothing) is the status, "master_serial" the device_master_sn, "master_subtype"
the device_subtype tag of the file's points (when it has any). Python 3
standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import run_cases  # noqa: E402  (same folder)

EXAMPLES = os.path.join(HERE, "..", "..", "examples")
SETTINGS = {"TSV_TIMEZONE": "Europe/Paris", "TSV_CHANNEL_ID_SCHEME": "serial",
            "TSV_FILE_NAME_TAG": "1"}
# expected.json keys with no field of that name in the report, see above
STANDS_FOR = ("destination_dir", "master_serial", "master_subtype", "first_line_protocol", "error")
DEST = {"success": "parsed/", "error": "error/"}


def check_generator(errors):
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, "make-examples.py"), "--check"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        errors.append("make-examples.py --check: exit %d: %s%s"
                      % (p.returncode, p.stdout.strip(), p.stderr.strip()))


def dry_run(parser, tmp):
    """A dry run of a copy of examples/data; (exit status, report, lp lines)."""
    case = os.path.join(tmp, "case")
    os.makedirs(case)
    os.symlink(os.path.realpath(os.path.join(EXAMPLES, "data")), os.path.join(case, "data"))
    with open(os.path.join(case, "env"), "w") as f:
        f.writelines("%s=%s\n" % kv for kv in SETTINGS.items())
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    rc, lp, out, err = run_cases.run_parser(parser, case, work)
    try:
        report = run_cases.report_by_path(run_cases.strict_json(out), os.path.join(work, "data"))
    except ValueError as e:
        raise ValueError("the report is not JSON (%s); stderr: %s" % (e, err.strip()))
    return rc, report, run_cases.lp_norm(lp)


def check_file(rel, exp, act, lines, errors):
    where = "files[%s]" % rel
    run_cases.subset(where, {k: v for k, v in exp.items() if k not in STANDS_FOR and k in act},
                     act, errors)
    missing = [k for k in exp if k not in STANDS_FOR and k not in act]
    if missing:
        errors.append("%s: not in the report: %s" % (where, ", ".join(missing)))
    if exp.get("error") is not None and not (act.get("error") or "").startswith(exp["error"]):
        errors.append("%s.error: expected %r..., got %r" % (where, exp["error"], act.get("error")))
    if exp.get("error") is None and act.get("error") is not None:
        errors.append("%s.error: expected none, got %r" % (where, act["error"]))
    if "destination_dir" in exp and DEST.get(act.get("status")) != exp["destination_dir"]:
        errors.append("%s: status %r for destination %r"
                      % (where, act.get("status"), exp["destination_dir"]))
    if "master_serial" in exp and act.get("device_master_sn") != exp["master_serial"]:
        errors.append("%s: device_master_sn %r, expected %r"
                      % (where, act.get("device_master_sn"), exp["master_serial"]))
    if exp.get("first_line_protocol"):
        first = run_cases.lp_norm(exp["first_line_protocol"])[0]
        if not lines or lines[0] != first:
            errors.append("%s: first point\n  expected: %s\n  actual:   %s"
                          % (where, first, lines[0] if lines else None))
    if exp.get("master_subtype") and lines:
        tags = set(re.findall(r",device_subtype=([a-z]+)", "\n".join(lines)))
        if tags != {exp["master_subtype"]}:
            errors.append("%s: device_subtype tags %s, expected %r"
                          % (where, sorted(tags), exp["master_subtype"]))


def check_dry_run(parser, errors):
    with open(os.path.join(EXAMPLES, "expected.json"), encoding="utf-8") as f:
        exp = run_cases.strict_json(f.read())
    with tempfile.TemporaryDirectory(prefix="pv-examples-") as tmp:
        rc, report, lines = dry_run(parser, os.path.realpath(tmp))
    run = dict(exp["run"])
    want = run.pop("exit_code")
    if rc != want:
        errors.append("exit status %d, expected %d" % (rc, want))
    run_cases.subset("run", run, report, errors)
    if sorted(report["files"]) != sorted(exp["files"]):
        errors.append("files %s, expected %s" % (sorted(report["files"]), sorted(exp["files"])))
    if len(lines) != report.get("nb_points_total"):
        errors.append("%d points written, nb_points_total %r"
                      % (len(lines), report.get("nb_points_total")))
    # a file's points are written together, in the report's order
    at = 0
    for rel, f in report["files"].items():
        n = f.get("nb_points") or 0
        if rel in exp["files"]:
            check_file(rel, exp["files"][rel], f, lines[at:at + n], errors)
        at += n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--tsv-parser", default=os.environ.get("TSV_PARSER", run_cases.DEFAULT_PARSER))
    args = ap.parse_args()
    errors = []
    check_generator(errors)
    try:
        check_dry_run(os.path.abspath(args.tsv_parser), errors)
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        errors.append("%s: %s" % (type(e).__name__, e))
    for e in errors:
        print(e)
    print("examples: %s" % ("ok" if not errors else "%d differences" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
