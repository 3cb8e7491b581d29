#!/usr/bin/env python3
"""Open-loop time to first byte over fresh HTTPS connections (tests/bench/compare.sh).

Starts one new connection every 1/RATE seconds for SECONDS, whatever the earlier ones are doing
(open loop: a slow middlebox cannot slow the arrivals down and hide its queueing). Each
connection: TCP connect, a full TLS handshake (no session reuse: a fresh session every time, the
certificate verified against CAFILE for NAME), `GET PATH` with `Connection: close`; the time
from the start of the TCP connect to the first response byte is one sample. With --phases the
median of each phase (connect, handshake, request to first byte) is printed too.

Prints one JSON object: samples (ms, sorted), errors, and the client's own CPU time over the wall
time, to show the client was not the bottleneck.
"""
import argparse
import asyncio
import json
import resource
import ssl
import sys
import time


async def one(args, ctx, samples, phases, errors):
    t0 = time.perf_counter()
    writer = None
    try:
        if args.phases:
            # Two steps so the handshake can be timed alone; the extra event-loop turn adds ~0.1 ms
            # to every sample, so the headline figure is measured without --phases.
            reader, writer = await asyncio.wait_for(asyncio.open_connection(args.addr, args.port), timeout=args.timeout)
            t1 = time.perf_counter()
            await asyncio.wait_for(writer.start_tls(ctx, server_hostname=args.name), timeout=args.timeout)
        else:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.addr, args.port, ssl=ctx, server_hostname=args.name),
                timeout=args.timeout)
            t1 = t0
        t2 = time.perf_counter()
        writer.write(f"GET {args.path} HTTP/1.1\r\nHost: {args.name}\r\nConnection: close\r\n\r\n".encode())
        first = await asyncio.wait_for(reader.read(1), timeout=args.timeout)
        if not first:
            raise ConnectionError("closed before the first byte")
        t3 = time.perf_counter()
        samples.append((t3 - t0) * 1000.0)
        if args.phases:
            phases.append(((t1 - t0) * 1000.0, (t2 - t1) * 1000.0, (t3 - t2) * 1000.0))
        await asyncio.wait_for(reader.read(), timeout=args.timeout)
    except (OSError, asyncio.TimeoutError, ssl.SSLError, ConnectionError) as e:
        errors.append(type(e).__name__ + ": " + str(e)[:80])
    finally:
        if writer is not None:
            writer.close()


async def main(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    # A session cache would let later handshakes resume; every connection must be a full one.
    ctx.options |= ssl.OP_NO_TICKET
    samples, phases, errors, tasks = [], [], [], []
    n = int(args.rate * args.seconds)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for i in range(n):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(args, ctx, samples, phases, errors)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    late = max(0.0, time.perf_counter() - start - args.seconds)
    # Where the time goes: the median of each phase (TCP connect, TLS handshake, request to first
    # byte); the phases' medians need not add up to the total's.
    median = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
    phase_p50 = {k: median([p[i] for p in phases]) for i, k in enumerate(("connect", "handshake", "first_byte"))}
    print(json.dumps({"samples": sorted(samples), "phase_p50_ms": phase_p50, "errors": len(errors),
                      "error_kinds": sorted(set(errors))[:3],
                      "client_cpu_share": round(cpu / wall, 3), "offered": n, "drain_s": round(late, 2)}))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--name", default="www.example.test")
    p.add_argument("--path", default="/index.html")
    p.add_argument("--cafile", required=True)
    p.add_argument("--rate", type=float, required=True, help="new connections per second (0.1..1000)")
    p.add_argument("--seconds", type=float, required=True, help="0.1..600")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--phases", action="store_true", help="time connect, handshake and first byte apart")
    a = p.parse_args()
    if not (0.1 <= a.rate <= 1000 and 0.1 <= a.seconds <= 600):
        sys.exit("ttfb.py: rate 0.1..1000, seconds 0.1..600")
    asyncio.run(main(a))
