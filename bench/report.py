#!/usr/bin/env python3
"""Tables and chart from bench/run.sh's measurements.

    report.py RESULTS_DIR [--chart SVG] [--doc BENCHMARKS.md]

Reads RESULTS_DIR/runs.tsv, mem.tsv and meta.txt (written by bench/run.sh),
writes RESULTS_DIR/tables.md, the SVG chart of the ratios to the baseline,
and, with --doc, replaces the text between `<!-- bench:begin -->` and
`<!-- bench:end -->` in that file with the tables.

A run is discarded when its server waited for a CPU more than max_wait % of
the run (schedstat run delay; for servers listed in `multi`, whose threads
queue behind each other, the CPU time other processes took on the server's
CPU instead). A ratio to the baseline needs the run and its baseline runs
kept.
"""

import csv
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
# Servers whose threads share the pinned CPU: schedstat delay is self-inflicted.
MULTI = {"std"}
COLORS = {
    "tokio": "#1f77b4", "smol": "#2ca02c", "std": "#9467bd", "byo": "#17becf",
    "hyper": "#7f7f7f", "ceiling": "#d62728", "nghttpd": "#ff7f0e", "nginx": "#8c564b",
}


def read_meta(path):
    meta = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        meta[key] = value
    return meta


def read_tsv(path):
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f, delimiter="\t"))


def mmm(values):
    """(median, min, max) or None."""
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(t, digits=2, unit=""):
    if t is None:
        return "–"
    m, lo, hi = t
    return f"{m:.{digits}f}{unit} ({lo:.{digits}f}–{hi:.{digits}f})"


def fmt_rps(t):
    if t is None:
        return "–"
    m, lo, hi = t
    return f"{m:,.0f} ({lo:,.0f}–{hi:,.0f})"


class Results:
    def __init__(self, results_dir):
        d = Path(results_dir)
        self.meta = read_meta(d / "meta.txt")
        self.max_wait = float(self.meta.get("max_wait", "5"))
        self.baseline = self.meta.get("baseline", "hyper")
        self.paired = self.meta.get("paired", "1") == "1"
        self.servers = [k[len("server."):] for k in self.meta if k.startswith("server.")]
        self.workloads = [k[len("label."):] for k in self.meta if k.startswith("label.")]
        self.runs = read_tsv(d / "runs.tsv")
        self.mem = read_tsv(d / "mem.tsv")
        for r in self.runs:
            for k in ("rep", "seq"):
                r[k] = int(r[k])
            for k in ("req_per_s", "cpu_us_per_req", "wait_pct", "others_pct", "cpu_busy_pct"):
                r[k] = float(r[k])
            r["waited"] = r["others_pct"] if r["server"] in MULTI else r["wait_pct"]
            r["failed"] = r.get("failure", "-") not in ("-", "", None)
            r["kept"] = r["waited"] <= self.max_wait and not r["failed"]
        self.by = defaultdict(list)  # (workload, server) -> runs
        self.rep = defaultdict(list)  # (workload, rep) -> runs in seq order
        for r in self.runs:
            self.by[(r["workload"], r["server"])].append(r)
            self.rep[(r["workload"], r["rep"])].append(r)
        for v in self.rep.values():
            v.sort(key=lambda r: r["seq"])

    def measured(self):
        return [w for w in self.workloads if not w.endswith("-idle") and
                any(self.by.get((w, s)) for s in self.servers)]

    def runs_of(self, w, s):
        """Kept runs, or if none was kept every run that did not fail."""
        runs = self.by.get((w, s), [])
        kept = [r for r in runs if r["kept"]]
        return kept or [r for r in runs if not r["failed"]]

    def stat(self, w, s, key):
        return mmm([r[key] for r in self.runs_of(w, s)])

    def ratios(self, w, s, ref, kept_only=True):
        """Per-repetition ratios of s to ref (paired with the runs of ref on
        either side when ref is the baseline), from kept runs (or from every
        run that did not fail); and how many repetitions there were."""
        out, total = [], 0
        for (wl, _), runs in self.rep.items():
            if wl != w:
                continue
            for i, r in enumerate(runs):
                if r["server"] != s:
                    continue
                total += 1
                if ref == self.baseline and self.paired:
                    refs = [x for x in (runs[i - 1] if i > 0 else None,
                                        runs[i + 1] if i + 1 < len(runs) else None)
                            if x is not None and x["server"] == ref]
                else:
                    refs = [x for x in runs if x["server"] == ref]
                ok = (lambda x: x["kept"]) if kept_only else (lambda x: not x["failed"])
                if not refs or not ok(r) or not all(ok(x) for x in refs):
                    continue
                if any(x["req_per_s"] <= 0 for x in refs):
                    continue
                base = math.exp(statistics.fmean(math.log(x["req_per_s"]) for x in refs))
                out.append(r["req_per_s"] / base)
        return out, total

    def failed(self, w, s):
        return sum(r["failed"] for r in self.by.get((w, s), []))

    def ratio_cell(self, w, s, ref):
        values, total = self.ratios(w, s, ref)
        if not total:
            return "–"
        if self.failed(w, s) == total:
            return "failed"
        if not values:
            # Every repetition waited too long: the unfiltered figure, marked.
            values, _ = self.ratios(w, s, ref, kept_only=False)
            if not values:
                return "n/a"
            m, lo, hi = mmm(values)
            return f"{m:.2f}† ({lo:.2f}–{hi:.2f})"
        m, lo, hi = mmm(values)
        kept = "" if len(values) == total else f" [{len(values)}/{total}]"
        return f"**{m:.2f}** ({lo:.2f}–{hi:.2f}){kept}"


def tables(res):
    m = res.meta
    label = {w: m.get("label." + w, w) for w in res.workloads}
    servers = [s for s in res.servers if any(res.by.get((w, s)) for w in res.workloads)
               or any(x["server"] == s for x in res.mem)]
    others = [s for s in servers if s != res.baseline]
    measured = res.measured()
    out = []
    p = out.append
    p(f"Command: `{m.get('command')}`, {m.get('start')} to {m.get('end')}, commit {m.get('commit')}.")
    p("")
    p(f"Machine: {m.get('machine')}, {m.get('rustc')}, {m.get('tools')}. "
      f"Load average before / after: {m.get('load_before')} / {m.get('load_after')}.")
    if m.get("note"):
        p("")
        p(f"**{m['note']}**")
    p("")
    p(f"Servers pinned to CPU {m.get('server_cpu')}, load generator (one thread) to CPU "
      f"{m.get('client_cpu')}, loopback. {m.get('runs')} repetitions"
      f"{'' if m.get('paired') != '1' else f', each running {res.baseline} before and after every other server'}"
      f"; wrk runs last {m.get('dur')} s, h2load runs a fixed request count. "
      f"Runs where the server waited for a CPU more than {res.max_wait:g}% of the time are discarded "
      f"([kept/total] shown when any were; † marks a figure from runs that all waited longer, "
      f"given because nothing else is left).")
    p("")
    for s in servers:
        p(f"- **{s}**: {m.get('server.' + s, '')}")
    for k, why in m.items():
        if k.startswith("skip."):
            _, s, w = k.split(".", 2)
            p(f"- {s} sits out {label.get(w, w)}: {why}")
    p("")

    if res.baseline in servers and measured:
        p(f"### Ratio to {res.baseline} (req/s; median of per-repetition ratios, min–max; >1 is faster)")
        p("")
        p("| workload | " + " | ".join(others) + " |")
        p("|---|" + "---:|" * len(others))
        for w in measured:
            p(f"| {label[w]} | " + " | ".join(res.ratio_cell(w, s, res.baseline) for s in others) + " |")
        p("")

    for ref in ("nghttpd", "ceiling"):
        if ref not in servers or not measured:
            continue
        cols = [s for s in servers if s != ref]
        rows = [w for w in measured if res.by.get((w, ref))]
        if not rows:
            continue
        p(f"### Ratio to {ref} (req/s; median of per-repetition ratios, min–max)")
        p("")
        p("| workload | " + " | ".join(cols) + " |")
        p("|---|" + "---:|" * len(cols))
        for w in rows:
            p(f"| {label[w]} | " + " | ".join(res.ratio_cell(w, s, ref) for s in cols) + " |")
        p("")

    if measured:
        p("### Requests per second (median, min–max; for 1 MiB transfers req/s = MiB/s)")
        p("")
        p("| workload | " + " | ".join(servers) + " |")
        p("|---|" + "---:|" * len(servers))
        for w in measured:
            cells = []
            for s in servers:
                runs, bad = res.by.get((w, s), []), res.failed(w, s)
                cell = fmt_rps(res.stat(w, s, "req_per_s")) if len(runs) > bad else ("failed" if runs else "–")
                if bad and len(runs) > bad:
                    cell += f" ({bad} failed)"
                cells.append(cell)
            p(f"| {label[w]} | " + " | ".join(cells) + " |")
        p("")
        p("### Server CPU per request, µs (median, min–max; utime+stime / requests)")
        p("")
        p("| workload | " + " | ".join(servers) + " |")
        p("|---|" + "---:|" * len(servers))
        digits = lambda w: 0 if ("big" in w or "upload" in w) else 2
        for w in measured:
            p(f"| {label[w]} | " + " | ".join(fmt(res.stat(w, s, "cpu_us_per_req"), digits(w)) for s in servers) + " |")
        p("")

    lat = [w for w in measured if any(r["p99_ms"] != "-" for s in servers for r in res.by.get((w, s), []))]
    for w in lat:
        p(f"### p99 latency, {label[w]} (ms; median over runs, min–max)")
        p("")
        p("| " + " | ".join(servers) + " |")
        p("|" + "---:|" * len(servers))
        cells = []
        for s in servers:
            runs = res.runs_of(w, s)
            cells.append(fmt(mmm([float(r["p99_ms"]) for r in runs if r["p99_ms"] != "-"]), 2))
        p("| " + " | ".join(cells) + " |")
        p("")

    if res.mem:
        idle = [w for w in res.workloads if w.endswith("-idle")]
        p(f"### Idle connections: server RSS growth per connection, KiB ({m.get('idle_n')} connections, fresh server)")
        p("")
        p("| workload | " + " | ".join(servers) + " |")
        p("|---|" + "---:|" * len(servers))
        for w in idle:
            cells = []
            for s in servers:
                rows = [x for x in res.mem if x["workload"] == w and x["server"] == s]
                cells.append(f"{float(rows[-1]['kib_per_conn']):.1f}" if rows else "–")
            p(f"| {label[w]} | " + " | ".join(cells) + " |")
        p("")

    if measured:
        p(f"### Waiting for a CPU (% of each run; median, max) and discarded runs")
        p("")
        p("| workload | " + " | ".join(servers) + " |")
        p("|---|" + "---:|" * len(servers))
        for w in measured:
            cells = []
            for s in servers:
                runs = res.by.get((w, s), [])
                if not runs:
                    cells.append("–")
                    continue
                waits = [r["waited"] for r in runs]
                gone = sum(not r["kept"] for r in runs)
                cells.append(f"{statistics.median(waits):.1f} / {max(waits):.1f}"
                             + (f", {gone} of {len(runs)} discarded" if gone else ""))
            p(f"| {label[w]} | " + " | ".join(cells) + " |")
        p("")
        if MULTI & set(servers):
            p(f"For {', '.join(sorted(MULTI & set(servers)))}: CPU time other processes took on the server's CPU, not schedstat delay.")
            p("")
        fails = [r for r in res.runs if r["failed"]]
        if fails:
            p("### Failed runs (left out of every figure above)")
            p("")
            seen = defaultdict(list)
            for r in fails:
                seen[(r["workload"], r["server"])].append(r["failure"])
            for (w, s), why in seen.items():
                p(f"- {s}, {label.get(w, w)}: {len(why)} of {len(res.by[(w, s)])} runs: {', '.join(sorted(set(why)))}")
            p("")
    return "\n".join(out)


def chart(res, path):
    """Horizontal bars: each server's median ratio to the baseline, per
    workload, on a log scale."""
    measured = res.measured()
    servers = [s for s in res.servers if s != res.baseline and any(res.by.get((w, s)) for w in measured)]
    if res.baseline not in res.servers or not servers or not measured:
        return
    label = {w: res.meta.get("label." + w, w) for w in measured}
    lo_exp, hi_exp = -3, 4  # 1/8 .. 16
    bar_h, gap = 12, 14
    left, right_pad, top = 300, 70, 70
    width = 980
    plot_w = width - left - right_pad
    group_h = bar_h * len(servers) + gap
    height = top + group_h * len(measured) + 60

    def x_of(v):
        e = min(max(math.log2(v) if v > 0 else lo_exp, lo_exp), hi_exp)
        return left + (e - lo_exp) / (hi_exp - lo_exp) * plot_w

    esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="10" y="20" font-size="14" font-weight="bold">'
         f'req/s relative to {res.baseline} (median of paired per-repetition ratios; log scale; '
         f'† = every run waited &gt; {res.max_wait:g}% for a CPU)</text>',
         f'<text x="10" y="36" fill="#555" font-size="10">{esc(res.meta.get("command", ""))}</text>',
         f'<text x="10" y="49" fill="#555" font-size="10">{esc(res.meta.get("start", ""))}, '
         f'commit {esc(res.meta.get("commit", ""))}, load average before {esc(res.meta.get("load_before", ""))}</text>']
    for e in range(lo_exp, hi_exp + 1):
        x = x_of(2.0 ** e)
        o.append(f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 50}" '
                 f'stroke="{"#000" if e == 0 else "#ddd"}"/>')
        tick = f"{2.0 ** e:g}" if e >= 0 else f"1/{2 ** -e}"
        o.append(f'<text x="{x:.1f}" y="{height - 36}" text-anchor="middle">{tick}</text>')
    y = top
    for w in measured:
        o.append(f'<text x="{left - 8}" y="{y + group_h / 2:.1f}" text-anchor="end">{esc(label[w])}</text>')
        for i, s in enumerate(servers):
            values, _ = res.ratios(w, s, res.baseline)
            dagger = ""
            if not values:
                values, _ = res.ratios(w, s, res.baseline, kept_only=False)
                dagger = "†"
            by = y + i * bar_h
            if not values:
                if res.failed(w, s):
                    o.append(f'<text x="{x_of(1.0) + 3:.1f}" y="{by + bar_h - 3}" font-size="9" '
                             f'fill="{COLORS.get(s, "#333")}">{esc(s)}: failed</text>')
                continue
            v = statistics.median(values)
            x0, x1 = x_of(1.0), x_of(v)
            o.append(f'<rect x="{min(x0, x1):.1f}" y="{by}" width="{max(abs(x1 - x0), 1):.1f}" '
                     f'height="{bar_h - 2}" fill="{COLORS.get(s, "#333")}"/>')
            o.append(f'<text x="{max(x0, x1) + 3:.1f}" y="{by + bar_h - 3}" font-size="9">{v:.2f}{dagger}</text>')
        y += group_h
    lx = left
    for s in servers:
        o.append(f'<rect x="{lx}" y="{height - 22}" width="10" height="10" fill="{COLORS.get(s, "#333")}"/>')
        o.append(f'<text x="{lx + 14}" y="{height - 13}">{esc(s)}</text>')
        lx += 90
    o.append("</svg>")
    Path(path).write_text("\n".join(o) + "\n")


def update_doc(path, text):
    doc = Path(path).read_text()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"report.py: {path} has no {BEGIN} ... {END} region")
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    Path(path).write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    res = Results(args[0])
    opts = dict(zip(args[1::2], args[2::2]))
    text = tables(res)
    (Path(args[0]) / "tables.md").write_text(text + "\n")
    if "--chart" in opts:
        chart(res, opts["--chart"])
    if "--doc" in opts:
        update_doc(opts["--doc"], text)


if __name__ == "__main__":
    main()
