# shellcheck shell=bash
# Shared by the downsampling tests on InfluxDB 1.x (downsample.bats,
# downsample_backfill.bats): generated files and the independent check of
# every level database. Needs py (helpers.bash) and INFLUX1_URL.

# gen_file PATH FROM_UTC TO_UTC STEP_S: a mono-channel file, rows every STEP_S
# seconds of UTC instants written as Europe/Paris wall time (the file's zone)
gen_file() {
    mkdir -p "$(dirname "$1")"
    py - "$@" <<'PY'
import datetime as d, sys, zoneinfo
path, a, b, step = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
paris = zoneinfo.ZoneInfo("Europe/Paris")
t = d.datetime.fromisoformat(a).replace(tzinfo=d.timezone.utc)
end = d.datetime.fromisoformat(b).replace(tzinfo=d.timezone.utc)
with open(path, "w") as f:
    f.write("02001171\t02001171\nMV_T302_V002\tPh 1 V\n")
    k = 0
    while t <= end:
        f.write(t.astimezone(paris).strftime("%d/%m/%y %H:%M:%S") + "\t%g\n" % ((k * 7919) % 1000 / 10.0))
        t += d.timedelta(seconds=step)
        k += 1
PY
}

# check_db DB: every level database holds exactly the independent means
check_db() {
    py - "$INFLUX1_URL" "$1" <<'PY'
import collections, datetime as d, json, sys, urllib.parse, urllib.request, zoneinfo
url, db = sys.argv[1:]
paris = zoneinfo.ZoneInfo("Europe/Paris")
def query(s):
    body = urllib.parse.urlencode({"q": s, "epoch": "ns"}).encode()
    r = json.load(urllib.request.urlopen(url + "/query", body))["results"][0]
    assert "error" not in r, r
    return r.get("series", [])
def start(level, ns):
    t = d.datetime.fromtimestamp(ns // 10**9, d.timezone.utc).astimezone(paris)
    if level == "1h":
        w = t.replace(minute=0, second=0)
    else:
        w = t.replace(hour=0, minute=0, second=0, fold=0)
        if level == "1w":
            w = (w - d.timedelta(days=w.weekday())).replace(tzinfo=None).replace(tzinfo=paris)
    return int(w.astimezone(d.timezone.utc).timestamp()) * 10**9
raw = collections.defaultdict(list)
points = 0
for s in query(f'SELECT * FROM "{db}"."autogen"."electrical" GROUP BY *'):
    # a window's mean is over every file of a series: no file_name downsampled
    tags = tuple(sorted((k, v) for k, v in s["tags"].items() if k != "file_name"))
    for row in s["values"]:
        points += 1
        for col, v in zip(s["columns"][1:], row[1:]):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                raw[(tags, col, row[0])].append(v)
assert points > 0
for level in ("1h", "1d", "1w"):
    exp = collections.defaultdict(list)
    for (tags, col, t), vs in raw.items():
        exp[(tags, col, start(level, t))] += vs
    got = {}
    for s in query(f'SELECT * FROM "{db}_{level}"."autogen"."electrical" GROUP BY *'):
        tags = tuple(sorted(s["tags"].items()))
        for row in s["values"]:
            for col, v in zip(s["columns"][1:], row[1:]):
                if v is not None:
                    got[(tags, col, row[0])] = v
    assert set(got) == set(exp), (level, sorted(set(got) ^ set(exp))[:4])
    for k, vs in exp.items():
        m = sum(vs) / len(vs)
        assert abs(got[k] - m) <= 1e-9 * max(1, abs(m)), (level, k, got[k], m)
    print(level, len(got), end="; ")
PY
}

# q STATEMENT: one InfluxQL statement (POST), the JSON answer
q() {
    curl -fsS -XPOST "$INFLUX1_URL/query" --data-urlencode "q=$1"
}

# dump DB: every point of the three level databases, sorted
dump() {
    local lv
    for lv in 1h 1d 1w; do
        curl -fsS -XPOST "$INFLUX1_URL/query" --data-urlencode "q=SELECT * FROM \"$1_$lv\".\"autogen\".\"electrical\" GROUP BY *" \
            --data-urlencode epoch=ns
    done
}
