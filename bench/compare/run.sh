#!/usr/bin/env bash
# Side-by-side parse + extract throughput on the same documents in one run: kizashi against
# Python's feedparser and fastfeedparser (installed with pip into bench/compare/.venv).
#
#   bash bench/compare/run.sh [ITERATIONS]        # default 20
#
# Document sets: the generated 200-item documents (one per format), fixtures/feeds, and, when
# ../shared/corpus is present, its publisher captures and the feed-rs and feedparser
# wellformed test corpora. Prints a Markdown table; figures also go to
# target/bench-compare/results.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
iterations="${1:-20}"
out="$root/target/bench-compare"
mkdir -p "$out"

if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check feedparser fastfeedparser

(cd "$root" && cargo build --release --quiet --example parse_bench)
bin="$root/target/release/examples/parse_bench"

# One list of paths per set; every parser reads exactly these files.
"$bin" --generate "$out/generated" > "$out/generated.list"
find "$root/fixtures/feeds" -maxdepth 1 -type f \
    \( -name '*.xml' -o -name '*.rdf' -o -name '*.atom' -o -name '*.json' \) | sort > "$out/fixtures.list"
sets=(--set "generated-200=$out/generated.list" --set "fixtures=$out/fixtures.list")

corpus="$root/../shared/corpus"
if [ -d "$corpus" ]; then
    find "$corpus/feeds" -type f \( -name '*.xml' -o -name '*.rdf' -o -name '*.atom' -o -name '*.json' \) \
        | sort > "$out/captures.list"
    find "$corpus/feed-rs" -type f \( -name '*.xml' -o -name '*.rdf' -o -name '*.atom' -o -name '*.json' \) \
        ! -name '*.serde.json' | sort > "$out/feed-rs.list"
    find "$corpus/feedparser/wellformed" -type f \( -name '*.xml' -o -name '*.rdf' -o -name '*.atom' -o -name '*.json' \) \
        | sort > "$out/feedparser-wellformed.list"
    sets+=(--set "captures=$out/captures.list" --set "feed-rs=$out/feed-rs.list"
           --set "feedparser-wellformed=$out/feedparser-wellformed.list")
else
    echo "skipped: ../shared/corpus absent (generated documents and fixtures only)" >&2
fi

"$here/.venv/bin/python" "$here/compare.py" --kizashi "$bin" --iterations "$iterations" \
    --json "$out/results.json" "${sets[@]}"
