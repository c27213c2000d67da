"""``statetune update`` and ``statetune cache ls|info|verify|gc``.

Example
-------
>>> from statetune.cli.cache_cmd import size_text
>>> size_text(2048)
'2.0KiB'
"""

from __future__ import annotations

import argparse
import json
import sys

from statetune.cli._common import EXIT_DATA, EXIT_OK, source_from_path

__all__ = ["age_text", "run_cache", "run_update", "size_text"]


def run_update(args: argparse.Namespace) -> int:
    import statetune as st
    from statetune.state_cache.compute import series_group

    cache = st.StateCache(args.cache_dir)
    source = source_from_path(args.data, args.target, args.weight, args.series, args.time)
    if args.key:
        keys = [cache.resolve(args.key)]
    else:
        schema = source.schema.to_json()
        keys = [
            e["key"]
            for e in cache.entries()
            if e["valid"] and cache.info(e["key"])["spec"]["schema"] == schema
        ]
        if not keys:
            raise ValueError(
                f"The cache must hold states with this data's schema to update, but {cache} has none; "
                "run `statetune tune` (or st.compute_states with a cache) first."
            )
    done: set[str] = set()
    for key in keys:
        if key in done:
            continue
        group = series_group(cache, key)  # series: lagged moments and their samples together
        done.update(group)
        before = cache.load(group[0]).n_rows
        after = st.update(group[0], source, cache=cache)
        also = f" (with {', '.join(group[1:])})" if len(group) > 1 else ""
        print(
            f"{group[0]}: {before:,} -> {after.n_rows:,} rows ({after.n_rows - before:,} new){also}"
        )
    return EXIT_OK


def run_cache(args: argparse.Namespace) -> int:
    import statetune as st

    cache = st.StateCache(args.cache_dir)
    if args.cache_command == "ls":
        rows = cache.entries()
        print(f"{'key':<22}{'kind':<10}{'rows':>12}{'segments':>10}{'size':>10}{'age':>10}  state")
        for e in rows:
            status = e["status"] if not e["valid"] else ("in use" if e["in_use"] else "ok")
            print(
                f"{e['key']:<22}{e.get('kind', '?'):<10}{e.get('n_rows', 0):>12,}{e.get('segments', 0):>10}"
                f"{size_text(e['size_bytes']):>10}{age_text(e['age_seconds']):>10}  {status}"
            )
        for e in rows:
            if not e["valid"]:
                print(f"{e['key']}: {e['problem']}", file=sys.stderr)
        return EXIT_OK
    if args.cache_command == "info":
        print(json.dumps(cache.info(args.key), indent=2))
        return EXIT_OK
    if args.cache_command == "verify":
        results = cache.verify()  # one read of every entry
        for r in results:
            print(
                f"{r['key']}: {'ok' if r['valid'] else r['status'].upper() + ': ' + str(r['problem'])}"
            )
        return EXIT_DATA if any(not r["valid"] for r in results) else EXIT_OK
    deleted = cache.gc(keep_last=args.keep_last)
    print(
        f"deleted {len(deleted)} entr{'y' if len(deleted) == 1 else 'ies'}: {', '.join(deleted) or '-'}"
    )
    return EXIT_OK


def size_text(n: float) -> str:
    """Bytes as B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}GiB"


def age_text(seconds: float) -> str:
    """Seconds as the largest whole unit: d, h, m or s."""
    for unit, div in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= div:
            return f"{seconds / div:.0f}{unit}"
    return f"{seconds:.0f}s"
