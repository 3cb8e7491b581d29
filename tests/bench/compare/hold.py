#!/usr/bin/env python3
"""Holds N idle HTTPS connections open (tests/bench/compare.sh, memory per idle connection).

Each connection: TCP connect, full TLS handshake (certificate verified against CAFILE for NAME),
one keep-alive `GET /index.html` whose response is read completely, then nothing: the
connection stays open and idle (both legs of an intercepting middlebox are then established and
quiet). Prints `open N issuer=<issuer CN of the first connection>` once all are up (or once the
time bound is reached) and then holds them until killed.
"""
import argparse
import asyncio
import resource
import ssl
import sys
import time


def issuer_cn(sslobj):
    cert = sslobj.getpeercert()
    for rdn in cert.get("issuer", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "?"


async def one(args, ctx, held, issuers, errors):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.addr, 443, ssl=ctx, server_hostname=args.name), timeout=30)
        writer.write(f"GET /index.html HTTP/1.1\r\nHost: {args.name}\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await asyncio.wait_for(reader.readexactly(length), timeout=30)
        if not issuers:
            issuers.append(issuer_cn(writer.get_extra_info("ssl_object")))
        held.append(writer)
    except (OSError, asyncio.TimeoutError, ssl.SSLError, asyncio.IncompleteReadError, ValueError) as e:
        errors.append(type(e).__name__)


async def main(args):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.options |= ssl.OP_NO_TICKET
    held, issuers, errors = [], [], []
    sem = asyncio.Semaphore(args.parallel)

    async def limited():
        async with sem:
            await one(args, ctx, held, issuers, errors)

    start = time.monotonic()
    tasks = [asyncio.create_task(limited()) for _ in range(args.count)]
    done, pending = await asyncio.wait(tasks, timeout=args.max_seconds)
    for t in pending:
        t.cancel()
    print(f"open {len(held)} issuer={issuers[0] if issuers else '?'} errors={len(errors) + len(pending)} "
          f"seconds={time.monotonic() - start:.1f}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addr", required=True)
    p.add_argument("--name", default="www.example.test")
    p.add_argument("--cafile", required=True)
    p.add_argument("--count", type=int, required=True, help="1..20000")
    p.add_argument("--parallel", type=int, default=64)
    p.add_argument("--max-seconds", type=float, default=300)
    a = p.parse_args()
    if not 1 <= a.count <= 20000:
        sys.exit("hold.py: count 1..20000")
    asyncio.run(main(a))
