#!/usr/bin/env bash
# Resident memory of the daemon holding 100,000 items and polling 50 sources, and the cost of
# a poll round over 50 unchanged sources.
#
#   bash bench/memory.sh [SECONDS]       # default 30
#
# 1. builds release (the binary and the examples parse_bench and seed_store);
# 2. seeds a store with 90,000 generated items (examples/seed_store.rs);
# 3. serves 50 feeds of 200 items each (the generated documents of every format) from
#    bench/etag_server.py on 127.0.0.1, which sends ETags and answers If-None-Match with 304;
# 4. runs `kizashi run` on 50 sources at a 10 s interval: the first round stores 50 × 200 =
#    10,000 new items (100,000 in all), later rounds should be conditional requests answered
#    304, with no body parsed and no item written;
# 5. reads VmRSS and VmHWM from /proc/PID/status, checks the server log (every request after
#    a source's first is conditional and answered 304) and `kizashi sources --json` (items
#    stored per source unchanged after the first round), then stops the daemon with SIGTERM.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
seconds="${1:-30}"
work="$(mktemp -d /tmp/kizashi-memory.XXXXXX)"
server_pid=""
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${KIZASHI_MEMORY_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
cargo build --release --quiet --bin kizashi --example seed_store --example parse_bench
bin="$root/target/release/kizashi"

echo "seeding 90,000 items ..."
"$root/target/release/examples/seed_store" "$work/data" 90000

mkdir -p "$work/feeds" "$work/generated"
mapfile -t docs < <("$root/target/release/examples/parse_bench" --generate "$work/generated")
for i in $(seq -w 0 49); do
    doc="${docs[$((10#$i % ${#docs[@]}))]}"
    cp "$doc" "$work/feeds/feed-$i.${doc##*.}"
done

python3 "$here/etag_server.py" "$work/feeds" "$work/port" "$work/server.log" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port="$(cat "$work/port")"
api_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

{
    printf 'data_dir = "%s"\n[api]\nlisten = "127.0.0.1:%s"\n[defaults]\ninterval = "10s"\n' "$work/data" "$api_port"
    for i in $(seq -w 0 49); do
        file="$(cd "$work/feeds" && ls feed-$i.*)"
        printf '[[sources]]\nid = "source-%s"\npublisher = "Publisher %s"\ncountry = "US"\nlang = "en"\nurl = "http://127.0.0.1:%s/%s"\n' \
            "$i" "$i" "$port" "$file"
    done
} > "$work/kizashi.toml"

RUST_LOG=kizashi=debug ${KIZASHI_MEMORY_WRAPPER:-} "$bin" run --config "$work/kizashi.toml" --log-format json 2> "$work/daemon.log" &
daemon_pid=$!
started=$(date +%s)

requests() { [ -f "$work/server.log" ] && wc -l < "$work/server.log" || echo 0; }
rss() { awk '/^(VmRSS|VmHWM)/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$daemon_pid/status"; }

until [ "$(requests)" -ge 50 ]; do sleep 0.2; done
# Parses queue for a core each: round 1 is over when every source has logged its poll.
until [ "$(grep -c '"poll done"' "$work/daemon.log")" -ge 50 ]; do sleep 0.2; done
echo "after round 1 ($(requests) requests): $(rss)"
"$bin" sources --json --config "$work/kizashi.toml" > "$work/sources.1.json"
until [ "$(requests)" -ge 100 ]; do sleep 0.2; done
sleep 1
echo "after round 2 ($(requests) requests): $(rss)"
"$bin" sources --json --config "$work/kizashi.toml" > "$work/sources.2.json"

# The highest VmRSS between round 2 and the end: what the conditional rounds cost at worst.
highest=0
while [ $(( $(date +%s) - started )) -lt "$seconds" ]; do
    sleep 1
    now_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")
    [ "$now_kib" -gt "$highest" ] && highest=$now_kib
done
echo "after ${seconds} s ($(requests) requests): $(rss)"
echo "highest VmRSS after round 2: $((highest / 1024)) MiB"
final="$(rss)"

kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=""

python3 - "$work" <<'PY'
import collections, json, sys
work = sys.argv[1]
seen = collections.defaultdict(list)
for line in open(f"{work}/server.log", encoding="utf-8"):
    path, status, kind = line.split()
    seen[path].append((status, kind))
first = collections.Counter(v[0][0] for v in seen.values())
later = collections.Counter(f"{s} {k}" for v in seen.values() for s, k in v[1:])
print(f"sources polled: {len(seen)}; first requests: {dict(first)}; later requests: {dict(later)}")
ok = len(seen) == 50 and all(s == "304" and k == "conditional" for v in seen.values() for s, k in v[1:])
def load(n):
    return {r["id"]: r for r in json.load(open(f"{work}/sources.{n}.json", encoding="utf-8"))}
one, two = load(1), load(2)
stored1 = sum(r.get("items_stored", 0) for r in one.values())
stored2 = sum(r.get("items_stored", 0) for r in two.values())
statuses = collections.Counter(str(r.get("last_status")) for r in two.values())
print(f"items stored by polls: {stored1} after round 1, {stored2} after round 2; last status after round 2: {dict(statuses)}")
parsed = 0
for line in open(f"{work}/daemon.log", encoding="utf-8"):
    try:
        fields = json.loads(line).get("fields", {})
    except ValueError:
        continue
    # A 304 logs "poll done" too, with nothing new, updated or unchanged: only a parsed body
    # has items.
    if fields.get("message") == "poll done" and any(
        int(fields.get(k, 0)) for k in ("new", "updated", "unchanged")
    ):
        parsed += 1
print(f"polls that parsed a body: {parsed} (the first round's 50 expected)")
print("conditional rounds: " + ("OK (every later request 304, no item written)" if ok and stored1 == stored2 and parsed == 50 else "NOT OK"))
PY
echo "final: $final"
