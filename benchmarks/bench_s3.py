"""Attachments in S3-compatible object storage: the inspector against a sequential scanner that
HEADs every row, through a proxy adding latency per request (0 and 20 ms, as to a real region).

    python benchmarks/bench_s3.py --attachments 100000

The world is the cached file-system world of that size, uploaded once to a SeaweedFS server
whose data stays in benchmarks/out/. For each latency: the inspector's whole run (walk, checks,
report), its requests per attachment counted by the proxy, and the peak memory of every stage
next to the same run on the file system; the baseline scanner HEADs a sample of the rows in
order, one at a time, and its time for every row is that rate times the rows (a sequential
scanner's time per row does not change along the run). Last, the two clients the README
weighs, boto3 and obstore, on the same HEADs and listing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from pathlib import Path

from common import OUT, REPORT_END, STAGE_END, cached_world, clean, counts_of_inspector, inspector_cmd, machine, timed

from jiraworld import s3world, world
from jiraworld.httpproxy import Proxy
from jiraworld.s3server import READER, S3Server

PREFIX = "attachments"


def _server(n: int, w) -> S3Server:
    """The server of the benchmark's bucket, filled once."""
    base = OUT / f"s3-{n}"
    marker = base / "uploaded.json"
    server = S3Server(base).start()
    if not marker.exists():
        print(f"uploading the world of {n} attachments to {server.endpoint} (once)", file=sys.stderr)
        started = time.monotonic()
        s3world.upload(w.root, server.client(), server.bucket, PREFIX, world.Expected(), threads=32)
        marker.write_text(json.dumps({"seconds": round(time.monotonic() - started, 1)}))
    return server


def _keys(w) -> list[str]:
    """The key of every row Jira would look for, in id order (what the baseline HEADs)."""
    import psycopg

    with psycopg.connect(w.cluster.dsn("jira")) as conn:
        rows = conn.execute(
            "SELECT fa.id, coalesce(p.originalkey, p.pkey), ji.issuenum FROM fileattachment fa "
            "JOIN jiraissue ji ON ji.id = fa.issueid JOIN project p ON p.id = ji.project ORDER BY fa.id"
        ).fetchall()
    from inspector.jira import layout

    return [
        f"{PREFIX}/{layout.issue_folder(key, num)}/{int(aid)}" for aid, key, num in rows if layout.is_plain_key(key)
    ]


def baseline(server: S3Server, endpoint: str, keys: list[str], sample: int) -> tuple[float, int]:
    """Seconds per row of a sequential one-HEAD-per-row scanner, from ``sample`` rows spread
    over the id range; and how many of them were absent."""
    client = server.client(READER, endpoint)
    picked = keys[:: max(1, len(keys) // sample)][:sample]
    absent = 0
    started = time.perf_counter()
    for key in picked:
        try:
            client.head_object(Bucket=server.bucket, Key=key)
        except client.exceptions.ClientError:
            absent += 1
    return (time.perf_counter() - started) / len(picked), absent


def inspector(w, server: S3Server, endpoint: str, run: Path) -> tuple[float, dict, dict]:
    clean(run)
    env = w.env(run, INSPECTOR_LOG_LEVEL="DEBUG")
    env.update(server.env(READER, endpoint), INSPECTOR_ATTACHMENTS_ROOT=f"s3://{server.bucket}/{PREFIX}")
    seconds, result = timed(inspector_cmd(), env)
    return seconds, counts_of_inspector(run / "report"), _memory(result.stderr)


def _memory(stderr: str) -> dict:
    peaks: dict[str, float] = {}
    for name, _, _, _, mb in STAGE_END.findall(stderr):
        peaks[name] = max(peaks.get(name, 0.0), float(mb))
    report = REPORT_END.search(stderr)
    if report:
        peaks["parent"] = float(report.group(2))
    return peaks


def clients(server: S3Server, keys: list[str], n: int = 1000) -> list[str]:
    """boto3 and obstore on the same work: HEADs (one at a time, and many in flight) and a
    listing of every key, with the CPU each spends."""
    picked = random.Random(1).sample(keys, min(n, len(keys)))
    lines = []
    client = server.client(READER)

    def measure(what: str, fn) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        count = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        lines.append(f"| {what} | {count} | {wall:.2f} s | {count / wall:,.0f}/s | {cpu / count * 1e3:.2f} ms |")

    def boto_heads() -> int:
        for key in picked:
            with contextlib.suppress(client.exceptions.ClientError):
                client.head_object(Bucket=server.bucket, Key=key)
        return len(picked)

    def boto_threads() -> int:
        from concurrent.futures import ThreadPoolExecutor

        def head(key: str) -> None:
            with contextlib.suppress(client.exceptions.ClientError):
                client.head_object(Bucket=server.bucket, Key=key)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(head, picked))
        return len(picked)

    def boto_list() -> int:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket, Prefix=f"{PREFIX}/")
        return sum(len(page.get("Contents", ())) for page in pages)

    measure("boto3 HEAD, sequential", boto_heads)
    measure("boto3 HEAD, 16 threads", boto_threads)
    measure("boto3 list, every key", boto_list)
    try:
        import obstore
        from obstore.store import S3Store
    except ImportError:
        lines.append("| obstore | not installed | | | |")
        return lines
    store = S3Store(
        server.bucket, endpoint=server.endpoint, access_key_id=READER[0], secret_access_key=READER[1],
        region="us-east-1", client_options={"allow_http": True}, virtual_hosted_style_request=False,
    )  # fmt: skip

    def obstore_heads() -> int:
        for key in picked:
            with contextlib.suppress(FileNotFoundError):
                obstore.head(store, key)
        return len(picked)

    def obstore_async() -> int:
        async def all_heads() -> None:
            gate = asyncio.Semaphore(64)

            async def head(key: str) -> None:
                async with gate:
                    with contextlib.suppress(FileNotFoundError):
                        await obstore.head_async(store, key)

            await asyncio.gather(*(head(k) for k in picked))

        asyncio.run(all_heads())
        return len(picked)

    def obstore_list() -> int:
        return sum(len(batch) for batch in obstore.list(store, prefix=f"{PREFIX}/"))

    measure("obstore HEAD, sequential", obstore_heads)
    measure("obstore HEAD, 64 in flight (async)", obstore_async)
    measure("obstore list, every key", obstore_list)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attachments", type=int, default=100_000)
    parser.add_argument("--latencies-ms", default="0,20")
    parser.add_argument("--sample", type=int, default=2000, help="rows the baseline HEADs at each latency")
    args = parser.parse_args()
    with cached_world(args.attachments) as w:
        server = _server(args.attachments, w)
        try:
            keys = _keys(w)
            fs_seconds, fs_result = timed(inspector_cmd(), w.env(OUT / "runs-s3" / "fs", INSPECTOR_LOG_LEVEL="DEBUG"))
            fs_memory = _memory(fs_result.stderr)
            print(f"{args.attachments} attachments in S3 (SeaweedFS on 127.0.0.1 behind a latency proxy), {machine()}")
            print("| latency | baseline (sequential HEADs) | inspector | ratio | requests | per attachment |")
            print("|---|---|---|---|---|---|")
            memory = {}
            for ms in (float(x) for x in args.latencies_ms.split(",")):
                with Proxy(server.port, latency=ms / 1000) as proxy:
                    per_row, _ = baseline(server, proxy.endpoint, keys, args.sample)
                    base = per_row * args.attachments
                    proxy.counts.clear()
                    seconds, counts, memory[ms] = inspector(w, server, proxy.endpoint, OUT / "runs-s3" / f"{ms:g}ms")
                    requests = proxy.requests()
                print(
                    f"| {ms:g} ms | {base:.1f} s ({per_row * 1e3:.2f} ms a row, {args.sample} rows timed) "
                    f"| {seconds:.1f} s | **{base / seconds:.1f}x** | {requests} ({dict(proxy.counts)}) "
                    f"| {requests / args.attachments:.4f} |"
                )
            print(f"counts: {counts}")
            print(f"\nthe same world on the local file system: {fs_seconds:.1f} s")
            print("| process | file system peak MB | " + " | ".join(f"S3 {ms:g} ms peak MB" for ms in memory) + " |")
            print("|---|---|" + "---|" * len(memory))
            for name in sorted(set(fs_memory) | {n for m in memory.values() for n in m}):
                row = " | ".join(f"{m.get(name, 0):.1f}" for m in memory.values())
                print(f"| {name} | {fs_memory.get(name, 0):.1f} | {row} |")
            print("\nclients on the same server, no added latency:")
            print("| what | calls | wall | rate | client CPU per call |\n|---|---|---|---|---|")
            for line in clients(server, keys):
                print(line)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
