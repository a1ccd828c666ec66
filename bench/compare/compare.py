#!/usr/bin/env python3
"""Side-by-side parse + extract throughput: kizashi against feedparser and fastfeedparser.

Every parser reads the same documents (bytes, from memory) in the same run, N passes each,
after one untimed pass. Items are the entries each parser extracted in one pass; MB/s counts
the documents' bytes. Run through bench/compare/run.sh, which installs the Python parsers in a
venv and builds kizashi's example `parse_bench`.

usage: compare.py --kizashi PATH --iterations N --set NAME=LISTFILE ... [--json OUT]
"""

import argparse
import json
import subprocess
import sys
import time


def load(list_file):
    with open(list_file, encoding="utf-8") as f:
        paths = [line.strip() for line in f if line.strip()]
    docs = []
    for p in paths:
        with open(p, "rb") as f:
            docs.append(f.read())
    return paths, docs


def time_python(name, parse, count, docs, iterations):
    def one_pass():
        items = errors = 0
        for d in docs:
            try:
                items += count(parse(d))
            except Exception:  # noqa: BLE001 - a parser refusing a document is an error, not a crash
                errors += 1
        return items, errors

    items, errors = one_pass()
    seconds = 0.0
    best = float("inf")
    for _ in range(iterations):
        start = time.perf_counter()
        one_pass()
        elapsed = time.perf_counter() - start
        seconds += elapsed
        best = min(best, elapsed)
    per_pass = seconds / max(iterations, 1)
    size = sum(len(d) for d in docs)
    return {
        "parser": name,
        "files": len(docs),
        "bytes": size,
        "iterations": iterations,
        "items": items,
        "errors": errors,
        "seconds": seconds,
        "mb_per_s": size / per_pass / 1e6,
        "items_per_s": items / per_pass,
        "best_mb_per_s": size / best / 1e6,
        "best_items_per_s": items / best,
    }


def time_kizashi(binary, paths, iterations):
    out = subprocess.run(
        [binary, "--iterations", str(iterations)],
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kizashi", required=True)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--set", action="append", default=[], help="NAME=LISTFILE")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()

    import feedparser
    import fastfeedparser

    versions = {
        "python": sys.version.split()[0],
        "feedparser": getattr(feedparser, "__version__", "?"),
        "fastfeedparser": getattr(fastfeedparser, "__version__", "?"),
    }
    try:
        from importlib.metadata import version

        versions["fastfeedparser"] = version("fastfeedparser")
        versions["feedparser"] = version("feedparser")
    except Exception:  # noqa: BLE001
        pass

    parsers = [
        ("feedparser", feedparser.parse, lambda r: len(r.entries)),
        ("fastfeedparser", fastfeedparser.parse, lambda r: len(r.entries)),
    ]
    results = []
    for spec in args.set:
        name, list_file = spec.split("=", 1)
        paths, docs = load(list_file)
        if not docs:
            print(f"skipped: set {name} has no documents", file=sys.stderr)
            continue
        row = {"set": name, "kizashi": time_kizashi(args.kizashi, paths, args.iterations)}
        for pname, parse, count in parsers:
            row[pname] = time_python(pname, parse, count, docs, args.iterations)
        results.append(row)
        print(f"measured {name}: {len(docs)} documents", file=sys.stderr)

    print(f"versions: {json.dumps(versions)}; iterations: {args.iterations}\n")
    # The machine these run on is shared: the mean of the passes moves with other work, the
    # fastest pass much less. Both are printed; the ratios are also given for both.
    print(
        "| documents | files | KiB | parser | items/pass | errors | MB/s (mean) | MB/s (best pass) "
        "| items/s (best pass) | kizashi × (mean) | kizashi × (best pass) |"
    )
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in results:
        k = row["kizashi"]
        for pname in ("kizashi", "feedparser", "fastfeedparser"):
            r = row[pname]
            if pname == "kizashi":
                mean_ratio = best_ratio = "—"
            else:
                mean_ratio = f"{k['mb_per_s'] / r['mb_per_s']:.1f}"
                best_ratio = f"{k['best_mb_per_s'] / r['best_mb_per_s']:.1f}"
            print(
                f"| {row['set']} | {r['files']} | {r['bytes'] / 1024:.0f} | {pname} | {r['items']} | "
                f"{r['errors']} | {r['mb_per_s']:.2f} | {r['best_mb_per_s']:.2f} | "
                f"{r['best_items_per_s']:.0f} | {mean_ratio} | {best_ratio} |"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"versions": versions, "iterations": args.iterations, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
