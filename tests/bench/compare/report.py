#!/usr/bin/env python3
"""Turns tests/bench/compare.sh's results.tsv into the Markdown tables and gnuplot PNG charts.

Writes OUT/compare.md (between the `<!-- results:begin -->` / `<!-- results:end -->` markers if
the file has them, so the hand-written text around the results survives a rerun) and
OUT/compare/*.png. Prints the tables. Exit 1 if a configuration failed its interception check
or produced no figures, or the OpenSSL floor failed (the benchmark is then broken, whatever the
numbers say). Results without floor rows (older runs) get no floor lines.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys

ALL_CONFIGS = ["direct", "bridge", "wb-bypass", "wb-relay", "wb-intercept", "sslsplit", "squid", "mitmproxy"]
CONFIGS = ALL_CONFIGS  # what the tables show: the measured ones (main, --configs)
INTERCEPTORS = ["wb-intercept", "sslsplit", "squid", "mitmproxy"]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# What OpenSSL alone spends on the two TLS 1.3 handshakes of an intercepted connection, measured
# in every round by handshake_floor_bench (compare/measure.sh openssl_floor): the floor under the
# interceptors' CPU per new connection on this machine at that moment.
FLOOR = "openssl-floor"


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                cfg, rnd, metric, value = parts
                rows.setdefault(cfg, {}).setdefault(metric, []).append((rnd, value))
    return rows


def median(rows, cfg, metric):
    vals = [float(v) for _, v in rows.get(cfg, {}).get(metric, [])]
    return statistics.median(vals) if vals else None


def pct(samples, q):
    if not samples:
        return None
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def fmt(x, digits=1):
    if x == float("inf"):
        return "timeout"
    return "-" if x is None else f"{x:,.{digits}f}"


def ratio(x, y):
    if x == float("inf") or y == float("inf"):
        return "-"
    return "-" if x is None or not y else f"{x / y:.2f}"


def openssl_version():
    try:
        r = subprocess.run(["openssl", "version"], capture_output=True, text=True)
        return " ".join(r.stdout.split()[:2]) or "OpenSSL"
    except OSError:
        return "OpenSSL"


def floor_figures(rows, fig):
    """The floor's medians and each interceptor's CPU per new connection against it.

    Paired by round: each round's CPU figure over (and minus) the floor of the same round, then the
    median over rounds, so that a machine that slows down between rounds moves both alike. The
    non-intercepting configurations make no handshakes: no floor applies to them."""
    got = rows.get(FLOOR, {})
    fl = {k: median(rows, FLOOR, f"{k}_ms_per_conn") for k in ("floor", "tracking", "providers", "busy_floor")}
    fl["per_round"] = {rnd: float(v) for rnd, v in got.get("floor_ms_per_conn", [])}
    busy = {rnd: float(v) for rnd, v in got.get("busy_floor_ms_per_conn", [])}
    fl["rounds"] = [(rnd, v, dict(got.get("tracking_ms_per_conn", [])).get(rnd, "-"),
                     dict(got.get("providers_ms_per_conn", [])).get(rnd, "-"),
                     dict(got.get("busy_floor_ms_per_conn", [])).get(rnd, "-")) for rnd, v in got.get("floor_ms_per_conn", [])]
    fl["failed"] = [v for _, v in got.get("floor_failed", [])]
    for cfg in ALL_CONFIGS:
        per = [(rnd, float(v), fl["per_round"][rnd]) for rnd, v in rows.get(cfg, {}).get("cpu_ms_per_conn", [])
               if cfg in INTERCEPTORS and fl["per_round"].get(rnd)]
        fig[cfg]["cpu_rounds"] = [(rnd, c, c / f) for rnd, c, f in per]
        fig[cfg]["x_floor"] = statistics.median(c / f for _, c, f in per) if per else None
        fig[cfg]["above_floor"] = statistics.median(c - f for _, c, f in per) if per else None
        per_busy = [c / busy[rnd] for rnd, c, _ in per if busy.get(rnd)]
        fig[cfg]["x_busy_floor"] = statistics.median(per_busy) if per_busy else None
    return fl


def floor_line(fig, fl):
    """The line under the main table; empty without floor rows."""
    if fl["floor"] is None:
        return ""
    peers = [f"{c} = {fig[c]['x_floor']:.2f} x" for c in INTERCEPTORS if c != "wb-intercept" and fig[c]["x_floor"] is not None]
    w = fig["wb-intercept"]["x_floor"] if "wb-intercept" in CONFIGS else None
    return (f"OpenSSL floor (two TLS 1.3 handshakes in memory, one server + one client, wirebump's settings; "
            f"handshake_floor_bench, same run, median of {len(fl['rounds'])} round(s)): **{fl['floor']:.2f} ms** CPU per "
            f"connection (with compaction's key-log tracking {fmt(fl['tracking'], 2)} ms, with OpenSSL's providers instead "
            f"of the built-in key methods {fmt(fl['providers'], 2)} ms"
            + (f"; with every vCPU busy, one thread each, as while a middlebox is measured: {fl['busy_floor']:.2f} ms"
               if fl["busy_floor"] is not None else "") + ")"
            + (f"; wirebump intercept = **{w:.2f} x floor**" if w is not None else "")
            + (f" ({fig['wb-intercept']['x_busy_floor']:.2f} x the busy floor)"
               if w is not None and fig["wb-intercept"].get("x_busy_floor") is not None else "")
            + (f"; peers: {', '.join(peers)} floor" if peers else "")
            + ". Multiples: median over rounds of each round's CPU ms/conn over the floor of the same round.")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} vCPU {cpu}, Linux {platform.release()}"


def figures(rows, ttfb_dir):
    fig = {}
    for cfg in ALL_CONFIGS:
        samples = []
        path = os.path.join(ttfb_dir, f"ttfb-{cfg}.txt")
        if os.path.exists(path):
            with open(path) as f:
                samples = [float(x) for x in f if x.strip()]
        # A connection that timed out is the slowest sample, not a missing one: it enters the
        # percentiles as infinite (shown as "timeout"), so failures cannot flatter p99.
        errors = sum(max(0, int(float(v))) for _, v in rows.get(cfg, {}).get("ttfb_errors", []))
        samples += [float("inf")] * errors
        failed = [v for _, v in rows.get(cfg, {}).get("check_failed", [])]
        fig[cfg] = {
            "cps": median(rows, cfg, "cps"), "bulk": median(rows, cfg, "bulk_mbps"),
            "p50": pct(samples, 0.5), "p99": pct(samples, 0.99), "n_ttfb": len(samples) - errors,
            "ttfb_errors": sum(int(float(v)) for _, v in rows.get(cfg, {}).get("ttfb_errors", [])),
            "client_cpu": median(rows, cfg, "ttfb_client_cpu"),
            "phases": [median(rows, cfg, f"ttfb_{k}_p50") for k in ("connect", "handshake", "first_byte")],
            "cpu_conn": median(rows, cfg, "cpu_ms_per_conn"), "cpu_gb": median(rows, cfg, "cpu_s_per_gb"),
            "failed": failed, "rounds_ok": len(rows.get(cfg, {}).get("cps", [])),
            "cps_all": [v for _, v in rows.get(cfg, {}).get("cps", [])],
            "conns_ok": [v for _, v in rows.get(cfg, {}).get("cps_ok", [])],
            "syn_drops": [v for _, v in rows.get(cfg, {}).get("cps_syn_drops", [])],
            "reuse": median(rows, cfg, "cps_reuse"),
            "reuse_ok": [v for _, v in rows.get(cfg, {}).get("cps_reuse_ok", [])],
            "tproxy": [v.replace(",", " ") for _, v in rows.get(cfg, {}).get("tproxy", [])],
        }
        for key, value in rows.get(cfg, {}).items():
            if key.startswith("idle_"):
                fig[cfg][key] = value[-1][1]
    return fig


def mem_counts(fig):
    counts = set()
    for f in fig.values():
        counts.update(int(k.rsplit("_", 1)[1]) for k in f if k.startswith("idle_open_") or k.startswith("idle_failed_"))
    return sorted(counts)


def tables(fig):
    d, w = fig["direct"], fig["wb-intercept"]
    out = ["| configuration | check | new conns/s | x direct | x wirebump | bulk MB/s | x direct | x wirebump "
           "| TTFB p50 ms | x direct | TTFB p99 ms | x direct | CPU ms/conn | CPU s/GB |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for cfg in CONFIGS:
        f = fig[cfg]
        check = f"FAILED ({len(f['failed'])})" if f["failed"] else ("ok" if f["rounds_ok"] else "no data")
        out.append(f"| {cfg} | {check} | {fmt(f['cps'], 0)} | {ratio(f['cps'], d['cps'])} | {ratio(f['cps'], w['cps'])} "
                   f"| {fmt(f['bulk'])} | {ratio(f['bulk'], d['bulk'])} | {ratio(f['bulk'], w['bulk'])} "
                   f"| {fmt(f['p50'], 2)} | {ratio(f['p50'], d['p50'])} | {fmt(f['p99'], 2)} | {ratio(f['p99'], d['p99'])} "
                   f"| {fmt(f['cpu_conn'], 2)} | {fmt(f['cpu_gb'], 2)} |")
    counts = mem_counts(fig)
    mem = ["| interceptor | " + " | ".join(f"idle conns (of {n:,}) | PSS KiB/conn | RSS KiB/conn | x wirebump (PSS)" for n in counts) + " |",
           "| --- | " + " | ".join("---: | ---: | ---: | ---:" for _ in counts) + " |"]
    for cfg in INTERCEPTORS:
        cells = []
        for n in counts:
            f = fig[cfg]
            if f"idle_failed_{n}" in f:
                cells.append(f"FAILED: {f[f'idle_failed_{n}'].replace('_', ' ')} | - | - | -")
                continue
            pss = f.get(f"idle_pss_kib_{n}")
            wp = fig["wb-intercept"].get(f"idle_pss_kib_{n}")
            cells.append(f"{f.get(f'idle_open_{n}', '-')} | {pss or '-'} | {f.get(f'idle_rss_kib_{n}', '-')} "
                         f"| {ratio(float(pss), float(wp)) if pss and wp else '-'}")
        mem.append(f"| {cfg} | " + " | ".join(cells) + " |")
    if any(fig[c]["reuse_ok"] for c in CONFIGS):
        out += ["", "Client source ports reused (a NAT'd or busy client: 400 fresh-connection requests from a "
                "256-port range, so every port is reused within seconds; round 1 only):", "",
                "| configuration | answered | conns/s | x direct |", "| --- | ---: | ---: | ---: |"]
        for cfg in CONFIGS:
            f = fig[cfg]
            if f["reuse_ok"]:
                out.append(f"| {cfg} | {f['reuse_ok'][0]} | {fmt(f['reuse'], 0)} | {ratio(f['reuse'], d['reuse'])} |")
    return "\n".join(out), "\n".join(mem), counts


def targets(fig, counts, fl):
    d, w = fig["direct"], fig["wb-intercept"]

    def line(name, ok, value):
        return f"- {name}: {value} -> **{'met' if ok else 'NOT met'}**"

    out = []
    if w["cps"] and d["cps"]:
        out.append(line("new conns/s >= 0.6 x direct", w["cps"] >= 0.6 * d["cps"], f"{w['cps'] / d['cps']:.2f} x"))
    if w["bulk"] and d["bulk"]:
        out.append(line("bulk >= 0.5 x direct", w["bulk"] >= 0.5 * d["bulk"], f"{w['bulk'] / d['bulk']:.2f} x"))
    if w["p50"] and d["p50"] and w["p50"] != float("inf"):
        out.append(line("TTFB p50 <= 1.5 x direct", w["p50"] <= 1.5 * d["p50"], f"{w['p50'] / d['p50']:.2f} x"))
    for n in counts:
        pss = w.get(f"idle_pss_kib_{n}")
        if pss:
            out.append(line(f"<= 32 KiB per idle intercepted connection ({n:,})", float(pss) <= 32, f"{pss} KiB PSS"))
    if w["cpu_conn"] is not None:
        out.append(line("<= 1 ms middlebox CPU per new connection", w["cpu_conn"] <= 1, f"{w['cpu_conn']:.2f} ms"))
        if fl["floor"] is not None:
            out.append(f"- {openssl_version()} alone needs {fl['floor']:.2f} ms for the two handshakes on this machine in this run "
                       f"(handshake_floor_bench): wirebump = {fmt(w['x_floor'], 2)} x that floor, "
                       f"{fmt(w['above_floor'], 2)} ms above it (medians of the per-round comparisons)"
                       + (f"; with every vCPU busy, as while wirebump is measured, the floor is {fl['busy_floor']:.2f} ms "
                          f"and wirebump {fmt(w.get('x_busy_floor'), 2)} x it" if fl["busy_floor"] is not None else "")
                       + (f"; the floor itself is above 1 ms, so no code doing these two handshakes on top of "
                          f"{openssl_version()} can meet the 1 ms target on this machine in this run" if fl["floor"] > 1 else ""))
    return "\n".join(out)


def charts(fig, counts, outdir, title, floor=None):
    os.makedirs(outdir, exist_ok=True)
    data = os.path.join(outdir, "figures.dat")
    with open(data, "w") as f:
        f.write("# config cps bulk p50 p99 cpu_conn cpu_gb " + " ".join(f"pss{n}" for n in counts) + "\n")
        for cfg in CONFIGS:
            g = fig[cfg]
            vals = [g["cps"], g["bulk"], g["p50"], g["p99"], g["cpu_conn"], g["cpu_gb"]]
            vals += [g.get(f"idle_pss_kib_{n}") for n in counts]
            f.write(cfg + " " + " ".join("NaN" if v is None or v == float("inf") else str(v) for v in vals) + "\n")
    plots = [("cps", "new HTTPS connections/s (fresh TCP+TLS each)", "using 2:xtic(1) title 'conns/s'"),
             ("bulk", f"bulk download MB/s", "using 3:xtic(1) title 'MB/s'"),
             ("ttfb", "TTFB ms, open loop (p50, p99)", "using 4:xtic(1) title 'p50', '' using 5 title 'p99'"),
             ("cpu", "middlebox CPU ms per new connection", "using 6:xtic(1) title 'ms/conn'"
              + (f", {floor} with lines lw 2 dt 2 title 'OpenSSL floor'" if floor else ""))]
    if counts:
        plots.append(("memory", "PSS KiB per idle intercepted connection",
                      ", ".join(("using " if i == 0 else "'' using ") + f"{7 + i}" + (":xtic(1)" if i == 0 else "") + f" title '{n:,} idle'"
                                for i, n in enumerate(counts))))
    script = []
    columns = {"cps": ["cps"], "bulk": ["bulk"], "ttfb": ["p50"], "cpu": ["cpu_conn"], "memory": []}
    # gnuplot refuses a plot without one valid point (e.g. every configuration failed).
    plots = [p for p in plots if (p[0] == "memory" and any(fig[c].get(f"idle_pss_kib_{n}") for c in CONFIGS for n in counts)) or any(fig[c][k] is not None for c in CONFIGS for k in columns[p[0]])]
    for name, ylabel, using in plots:
        script += [f"set output '{os.path.join(outdir, name + '.png')}'",
                   f"set title \"{ylabel}\\n{title}\" noenhanced", f"set ylabel \"{ylabel}\" noenhanced",
                   f"plot '{data}' {using}"]
    head = ["set terminal pngcairo size 900,480 noenhanced" if has_cairo() else "set terminal png size 900,480",
            "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
            "set boxwidth 0.9", "set yrange [0:*]", "set grid ytics", "set xtics rotate by -25", "set key top right",
            "set datafile missing 'NaN'"]
    subprocess.run(["gnuplot"], input="\n".join(head + script) + "\n", text=True, check=True)
    return [p[0] for p in plots]


def has_cairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (r.stdout + r.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", required=True)
    p.add_argument("--ttfb-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--quick", default="0")
    p.add_argument("--meta", nargs="*", default=[])
    p.add_argument("--configs", default=" ".join(ALL_CONFIGS), help="the configurations measured (compare.sh --only)")
    a = p.parse_args()
    measured = a.configs.split()
    if unknown := [c for c in measured if c not in ALL_CONFIGS]:
        p.error(f"unknown configurations: {' '.join(unknown)}")
    # Tables and charts show what was measured (compare.sh --only); figures() fills every name.
    global CONFIGS, INTERCEPTORS
    CONFIGS = [c for c in CONFIGS if c in measured]
    INTERCEPTORS = [c for c in INTERCEPTORS if c in measured]
    meta = dict(m.split("=", 1) for m in a.meta)
    rows = load(a.results)
    fig = figures(rows, a.ttfb_dir)
    fl = floor_figures(rows, fig)
    main_table, mem_table, counts = tables(fig)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    title = f"{machine()}, {now}"
    names = charts(fig, counts, os.path.join(a.out, "compare"), title, fl["floor"])
    notes = []
    if fl["failed"]:
        notes.append(f"- **OpenSSL floor FAILED** in {len(fl['failed'])} round(s): {fl['failed'][0].replace('_', ' ')}")
    if fl["rounds"]:
        notes.append("- OpenSSL floor, ms CPU per connection per round (floor / + key-log tracking / providers / "
                     "every vCPU busy): "
                     + "; ".join(f"round {r}: {v} / {t} / {p} / {b}" for r, v, t, p, b in fl["rounds"]))
    for cfg in CONFIGS:
        f = fig[cfg]
        if f["failed"]:
            notes.append(f"- **{cfg} FAILED its check** in {len(f['failed'])} round(s): {f['failed'][0].replace('_', ' ')}")
        if f["cps_all"]:
            notes.append(f"- {cfg}: conns/s per round {', '.join(f['cps_all'])} (answered {', '.join(f['conns_ok'])}); "
                         f"TTFB samples {f['n_ttfb']}, errors (timeouts) {f['ttfb_errors']}, client CPU share {fmt(f['client_cpu'], 3)}"
                         + (f"; TTFB phases p50 (connect / TLS handshake / request to first byte) {' / '.join(fmt(x, 2) for x in f['phases'])} ms"
                            if any(x is not None for x in f["phases"]) else "")
                         + (f"; CPU ms per new connection per round {', '.join(f'{c:.2f} ({x:.2f} x floor)' for _, c, x in f['cpu_rounds'])}"
                            if f["cpu_rounds"] else "")
                         + (f"; SYNs dropped by the bridge's listeners {', '.join(f['syn_drops'])}" if f["syn_drops"] else "")
                         + (f"; the check's connection through TPROXY (nft counters: {'; '.join(f['tproxy'])})" if f["tproxy"] else ""))
    text = "\n".join([
        BEGIN,
        f"Run {now} on {machine()}; load average {meta.get('load_start')} at the start, {meta.get('load_end')} at the end; "
        f"{meta.get('rounds')} round(s), {meta.get('seconds')} s in all. Per round and configuration: {meta.get('cps_n')} "
        f"fresh-connection requests (32 in parallel), one {meta.get('bulk_mb')} MiB download, open-loop TTFB at "
        f"{meta.get('ttfb_rate')} new connections/s for {meta.get('ttfb_s')} s (samples pooled over the rounds). "
        f"Medians over rounds; ratios to direct and to wirebump intercept from the same run.",
        "", main_table, "",
        *([floor_line(fig, fl), ""] if fl["floor"] is not None else []),
        "Memory per idle intercepted connection (handshake + one keep-alive request, then idle; "
        "middlebox PSS/RSS with them open minus before, all of its processes):", "", mem_table, "",
        "Targets for wirebump intercept (issue 8):", "", targets(fig, counts, fl), "",
        "Per configuration:", "", "\n".join(notes), "",
        " ".join(f"![{n}](compare/{n}.png)" for n in names),
        END])
    path = os.path.join(a.out, "compare.md")
    old = open(path).read() if os.path.exists(path) else ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = "# Side-by-side benchmark (tests/bench/compare.sh)\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(new)
    print(text)
    broken = [c for c in measured if fig[c]["failed"] or not fig[c]["rounds_ok"]]
    broken += [c for c in INTERCEPTORS if c in measured for n in counts if f"idle_failed_{n}" in fig[c] or f"idle_open_{n}" not in fig[c]]
    if fl["failed"]:
        broken.append(FLOOR)
    if broken:
        print(f"compare: broken configurations: {' '.join(sorted(set(broken)))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
