"""The printed side-by-side table and the PASS/FAIL check of the performance targets."""

import statistics

MB = 1024
TARGET_BYTES_RATIO = 0.05
TARGET_TIME_RATIO = 1.05
TARGET_EXPORT_RATIO = 0.25  # issue 12: export wall time <= 0.25x the built-in's ...
TARGET_EXPORT_MIN_ORDERS = 20000  # ... at 20,000 orders and more (below, fixed costs weigh; the table shows the ratio)
TARGET_EXPORT_RSS_RATIO = 0.2  # issue 12: rise of the exporting process's peak RSS <= 0.2x the built-in's
TARGET_POLL_QUERIES = 5
TARGET_BIG_RSS_MB = 16
POLLS = ("download_200", "download_409", "status_409", "status_final")


def _get(run: dict, path: str):
    value = run
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def metric(size: dict, impl: str, path: str, summary=None):
    """The median (or ``summary``, e.g. ``min``) over the rounds of one implementation at one size."""
    values = [v for v in (_get(run, path) for run in size["http"].get(impl, [])) if v is not None]
    if not values:
        return None
    return (summary or statistics.median)(values)


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "MB":
        return f"{value / MB:,.1f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(ours, builtin) -> str:
    if ours is None or not builtin:
        return "-"
    return f"{ours / builtin:.3f}x"


# --- the table ------------------------------------------------------------------------------------------------------


def _timing_rows(size):
    rows = [
        ("export: POST answered (s)", "export.post_s", ""),
        ("export: until download 200 (s)", "export.wall_s", ""),
        ("download: bytes", "download.bytes", ""),
        ("download: time (s)", "download.seconds", ""),
        ("shred: POST answered (s)", "shred.post_s", ""),
        ("shred: until status final (s)", "shred.status_final_s", ""),
        ("shred: until done (s)", "shred.wall_s", ""),
    ]
    return _median_rows(size, rows)


def _process_rows(size):
    rows = []
    for proc in ("web", "worker"):
        for phase in ("export", "download", "shred"):
            rows.append((f"{proc} CPU time during {phase} (s)", f"{phase}.procs.{proc}.cpu_s", ""))
            if phase != "download":
                rows.append(("  of which gc.collect() at task end (s)", f"{phase}.procs.{proc}.task_gc_s", ""))
    for proc in ("web", "worker"):
        rows.append((f"{proc} RSS before export (MB)", f"export.procs.{proc}.before_kb", "MB"))
        for phase in ("export", "download", "shred"):
            rows.append((f"{proc} peak RSS during {phase} (MB)", f"{phase}.procs.{proc}.peak_kb", "MB"))
            rows.append((f"  rise above RSS at start of {phase} (MB)", f"{phase}.procs.{proc}.increase_kb", "MB"))
    return _median_rows(size, rows)


def _median_rows(size, rows):
    return [(label, metric(size, "builtin", p), metric(size, "ours", p), unit) for label, p, unit in rows]


def _rounds_rows(size):
    """Every round's value next to the median, so that the spread (other load on the machine) is visible."""
    rows = []
    for label, path in (
        ("export", "export.wall_s"),
        ("shred", "shred.wall_s"),
        ("web CPU export", "export.procs.web.cpu_s"),
        ("web CPU shred", "shred.procs.web.cpu_s"),
    ):
        cells = []
        for impl in ("builtin", "ours"):
            values = [_get(run, path) for run in size["http"].get(impl, [])]
            cells.append("/".join(f"{v:.1f}" for v in values if v is not None) or "-")
        if len(size["http"].get("ours", [])) > 1:
            rows.append((f"  {label}: each round (s)", *cells, ""))
    return rows


def _first_run(size, impl):
    runs = size["http"].get(impl) or [{}]
    return runs[0]


def _answer_rows(size):
    rows = []
    answers = [_get(_first_run(size, impl), "shred.status_answer") for impl in ("builtin", "ours")]
    rows.append(("status final answer", *[f"{a[0]} {a[1].get('status')}" if a else "-" for a in answers], ""))
    return rows


def _data_lines(size) -> list[str]:
    """Rows still holding personal data after the shred: both implementations must leave the same behind."""
    lines = []
    for key, label in (("counts_before", "before the shred"), ("counts_after", "after the shred")):
        counts = [_get(_first_run(size, impl), key) for impl in ("builtin", "ours")]
        if counts[0] == counts[1]:
            lines.append(f"  personal data {label}, both: {_compact(counts[0])}")
        else:
            lines.append(f"  personal data {label} DIFFERS: built-in {_compact(counts[0])}; ours {_compact(counts[1])}")
    return lines


def _compact(counts) -> str:
    if not counts:
        return "-"
    return ", ".join(f"{k}={v:,}" for k, v in counts.items()) or "none"


def _poll_rows(size):
    polls = {impl: _get(size.get("inproc", {}), f"{impl}.polls") or {} for impl in ("builtin", "ours")}
    rows = []
    for name in POLLS:
        values = [polls[impl].get(name) for impl in ("builtin", "ours")]
        if any(values):
            cells = [f"{v[0]} q ({v[1]})" if v else "-" for v in values]
            rows.append((f"queries per poll: {name}", *cells, ""))
    return rows


def _big_rows(size):
    rows = []
    for key, label in (("before_kb", "RSS before"), ("peak_kb", "peak RSS"), ("after_kb", "RSS after")):
        path = f"big_download.procs.web.{key}"
        rows.append((f"{_big_mb(size)} MB download: web {label} (MB)", *_impl_values(size, path), "MB"))
    increases = [big_increase_kb(_first_run(size, impl)) for impl in ("builtin", "ours")]
    rows.append((f"{_big_mb(size)} MB download: RSS increase (MB)", *increases, "MB"))
    rows.append((f"{_big_mb(size)} MB download: time (s)", *_impl_values(size, "big_download.seconds"), ""))
    return rows


def _impl_values(size, path):
    return [_get(_first_run(size, impl), path) for impl in ("builtin", "ours")]


def _big_mb(size) -> int:
    big = _get(_first_run(size, "ours"), "big_download.bytes") or 0
    return round(big / 1024 / 1024)


def big_increase_kb(run):
    memory = _get(run, "big_download.procs.web")
    if not memory:
        return None
    return memory["peak_kb"] - memory["before_kb"]


def _profile_rows(size):
    rows = []
    for phase, func in (("export", "generate_files"), ("shred", "shred_data")):
        prof = {impl: _get(size.get("inproc", {}), f"{impl}.profile.{phase}") or {} for impl in ("builtin", "ours")}
        rows.append((f"profiled {phase} (s, under cProfile)", *[prof[i].get("wall_s") for i in prof], ""))
        shares = [prof[i].get("share_in_pretix_shredders") for i in prof]
        rows.append((f"  share in pretix's {func}", *[f"{s:.1%}" if s is not None else None for s in shares], ""))
        if phase == "export":
            shares = [prof[i].get("share_in_fast_exporters") for i in prof]
            rows.append(("  share in our fast exporters", *[f"{s:.1%}" if s else None for s in shares], ""))
    return rows


def size_table(size: dict) -> list[str]:
    seed = size.get("seed", {})
    rounds = len(size["http"].get("ours", []))
    head = f"orders={size['orders']:,} ({seed.get('positions', 0):,} positions), median of {rounds}"
    rows = _timing_rows(size) + _rounds_rows(size) + _process_rows(size) + _answer_rows(size) + _poll_rows(size)
    if _big_mb(size):
        rows += _big_rows(size)
    rows += _export_query_rows(size) + _profile_rows(size)
    lines = [f"{head:<46} {'built-in':>18} {'ours':>18} {'ours/built-in':>14}"]
    for label, builtin, ours, unit in rows:
        if builtin is None and ours is None:
            continue
        numeric = isinstance(builtin, int | float) and isinstance(ours, int | float)
        ratio = _ratio(ours, builtin) if numeric and unit != "MB" else ""
        lines.append(f"  {label:<44} {_fmt(builtin, unit):>18} {_fmt(ours, unit):>18} {ratio:>14}")
    return lines + _data_lines(size)


# --- targets --------------------------------------------------------------------------------------------------------


def _check(ok: bool, text: str) -> dict:
    return {"pass": bool(ok), "text": text}


def _ratio_targets(size: dict) -> list[dict]:
    n = f"{size['orders']:,} orders"
    checks = []
    b, o = metric(size, "builtin", "download.bytes"), metric(size, "ours", "download.bytes")
    if b and o:
        text = f"download bytes <= {TARGET_BYTES_RATIO}x built-in  [{n}]: {o:,} vs {b:,} = {o / b:.3f}x"
        checks.append(_check(o <= TARGET_BYTES_RATIO * b, text))
    for label, path, limit in (
        ("export", "export.wall_s", TARGET_EXPORT_RATIO),
        ("shred", "shred.wall_s", TARGET_TIME_RATIO),
    ):
        b, o = metric(size, "builtin", path), metric(size, "ours", path)
        if label == "export" and size["orders"] < TARGET_EXPORT_MIN_ORDERS:
            continue
        if b and o:
            best = metric(size, "ours", path, min) / metric(size, "builtin", path, min)
            text = (
                f"{label} wall <= {limit}x built-in  [{n}]: median {o:.2f} s vs {b:.2f} s = {o / b:.3f}x"
                f" (best of each: {best:.3f}x)"
            )
            checks.append(_check(o <= limit * b, text))
    b, o = (export_rss_rise_kb(size, impl) for impl in ("builtin", "ours"))
    if b and o is not None:
        text = (
            f"export peak RSS rise <= {TARGET_EXPORT_RSS_RATIO}x built-in  [{n}]: {o / MB:.1f} MB vs {b / MB:.1f} MB"
            f" = {o / b:.3f}x"
        )
        checks.append(_check(o <= TARGET_EXPORT_RSS_RATIO * b, text))
    return checks


def _exporting_proc(size: dict, impl: str) -> str:
    """The process that runs the export: the Celery worker if there is one, else the web server (eager mode)."""
    return "worker" if metric(size, impl, "export.procs.worker.peak_kb") is not None else "web"


def export_rss_rise_kb(size: dict, impl: str):
    return metric(size, impl, f"export.procs.{_exporting_proc(size, impl)}.increase_kb")


def export_queries(size: dict, impl: str):
    return _get(size.get("inproc", {}), f"{impl}.profile.export.queries")


def _export_query_rows(size):
    counts = [export_queries(size, impl) for impl in ("builtin", "ours")]
    per_1000 = [round(c * 1000 / size["orders"], 1) if c is not None else None for c in counts]
    return [
        ("export: SQL queries (in-process)", *counts, ""),
        ("  per 1,000 orders", *per_1000, ""),
    ]


def _export_query_targets(sizes: list[dict]) -> list[dict]:
    """Queries per exported order constant: at the largest size no more per order than at the smallest."""
    measured = [(s["orders"], export_queries(s, "ours")) for s in sizes if export_queries(s, "ours") is not None]
    if len(measured) < 2:
        return []
    (n1, q1), (n2, q2) = measured[0], measured[-1]
    detail = ", ".join(f"{n:,}: {q:,} ({q * 1000 / n:.1f} per 1,000)" for n, q in measured)
    return [_check(q2 / n2 <= q1 / n1, f"export queries per order constant (not growing with size): {detail}")]


def _memory_target(size: dict) -> list[dict]:
    increase = big_increase_kb(_first_run(size, "ours"))
    if increase is None:
        return []
    text = (
        f"{_big_mb(size)} MB download raises web RSS by <= {TARGET_BIG_RSS_MB} MB  [{size['orders']:,} orders]: "
        f"{increase / MB:.1f} MB"
    )
    return [_check(increase <= TARGET_BIG_RSS_MB * MB, text)]


def targets(sizes: list[dict]) -> list[dict]:
    checks = [c for size in sizes for c in _ratio_targets(size)]
    checks += _poll_targets(sizes)
    checks += _export_query_targets(sizes)
    checks += [c for size in sizes for c in _memory_target(size)]
    return checks


def _poll_targets(sizes):
    per_size = [(size["orders"], _get(size.get("inproc", {}), "ours.polls")) for size in sizes]
    per_size = [(n, polls) for n, polls in per_size if polls]
    if not per_size:
        return []
    worst = max(count for _n, polls in per_size for count, _status in polls.values())
    counts = [{name: v[0] for name, v in polls.items()} for _n, polls in per_size]
    same = all(c == counts[0] for c in counts)
    detail = "; ".join(
        f"{n:,}: " + ", ".join(f"{k}={v}" for k, v in c.items()) for (n, _p), c in zip(per_size, counts, strict=True)
    )
    return [
        _check(worst <= TARGET_POLL_QUERIES, f"queries per poll <= {TARGET_POLL_QUERIES}: max {worst}  ({detail})"),
        _check(same, f"queries per poll the same at every size: {'yes' if same else 'no'}"),
    ]


# --- the whole printout ---------------------------------------------------------------------------------------------


def top_lines(size: dict, impl: str, phase: str, limit: int = 15) -> list[str]:
    prof = _get(size.get("inproc", {}), f"{impl}.profile.{phase}") or {}
    if not prof:
        return []
    keys = [k for k in prof if k.endswith("_s") and k != "wall_s"]
    parts = ", ".join(f"{k[:-2]} {prof[k]:.2f}" for k in keys if prof[k])
    lines = [f"  {impl} {phase}, {size['orders']:,} orders: {prof['wall_s']:.2f} s under cProfile; {parts}"]
    lines.append(f"    {'cumul s':>8} {'share':>6} {'own s':>7} {'calls':>9}  function")
    for e in prof.get("top", [])[:limit]:
        share = f"{e['share']:.0%}" if e["share"] is not None else "-"
        lines.append(f"    {e['cumulative_s']:>8.3f} {share:>6} {e['own_s']:>7.3f} {e['calls']:>9}  {e['where']}")
    return lines


def render(results: dict) -> str:
    meta = results["meta"]
    out = ["", "pretix shredder API benchmark: pretix's built-in routes vs pretix-shredder-api"]
    out += [f"  {key}: {value}" for key, value in meta.items()]
    for size in results["sizes"]:
        out += [""] + size_table(size)
    checks = targets(results["sizes"])
    out += ["", "TARGETS"] + [f"  [{'PASS' if c['pass'] else 'FAIL'}] {c['text']}" for c in checks]
    if results["sizes"]:
        largest = results["sizes"][-1]
        out += ["", "PROFILE (in-process, Django test client, cProfile; top cumulative, request plumbing left out)"]
        for phase in ("export", "shred"):
            out += top_lines(largest, "ours", phase)
    results["targets"] = checks
    return "\n".join(out)
