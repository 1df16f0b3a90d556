"""report.html: one self-contained page (no CDN, no external script) an admin can open from
disk or attach to a ticket: the summary, problems and storage as inline SVG charts, the quick
wins among duplicates, and every list with clickable links.

Long lists are embedded as JSON and shown a page at a time by a few lines of inline script,
so a 100,000-line list still opens at once; the first page is also plain HTML, for readers
without JavaScript. A longer list is cut there, and the page says which .txt list has it all.
"""

from __future__ import annotations

from collections.abc import Collection
from html import escape
from typing import TextIO

import duckdb
import orjson

from .. import sqlfiles
from . import next_steps
from .limits import DEFAULT, Limits

PAGE = 200
# Rows of one list the page holds at most (limits.list_max_rows; the .txt list has them all): a
# disaster that flags every attachment of a million made a 210 MB page, too big to open
# comfortably or attach to a ticket; 100,000 rows still open at once.
COLORS = {"missing": "#d62728", "permissions": "#ff7f0e", "corrupted": "#9467bd", "errors": "#8c564b"}
BAR = "#1f77b4"

_LISTS = {"missing": "Missing", "permissions": "Permissions", "corrupted": "Corrupted", "errors": "Errors"}
_FLAG = {"missing": "missing", "permissions": "permissions", "corrupted": "corrupted", "errors": "error"}

_SCRIPT = r"""
for (const box of document.querySelectorAll('[data-list]')) {
  const rows = JSON.parse(document.getElementById('data-' + box.dataset.list).textContent);
  const body = box.querySelector('tbody'), info = box.querySelector('.pager span');
  const [prev, next] = box.querySelectorAll('.pager button');
  let page = 0;
  const cell = (c) => {
    const td = document.createElement('td');
    if (Array.isArray(c)) { const a = document.createElement('a'); a.href = c[0]; a.textContent = c[1]; td.append(a); }
    else td.textContent = c ?? '';
    return td;
  };
  const show = () => {
    body.replaceChildren(...rows.slice(page * PAGE, (page + 1) * PAGE).map((r) => {
      const tr = document.createElement('tr'); tr.append(...r.map(cell)); return tr; }));
    info.textContent = `rows ${Math.min(rows.length, page * PAGE + 1)}-${Math.min(rows.length, (page + 1) * PAGE)} of ${rows.length}`;
    prev.disabled = page === 0; next.disabled = (page + 1) * PAGE >= rows.length;
  };
  // A page of a list has an address to paste into a ticket: report.html#missing:3
  const wanted = location.hash.match(/^#([a-z]+):(\d+)$/);
  if (wanted && wanted[1] === box.dataset.list) {
    page = Math.max(0, Math.min(Number(wanted[2]) - 1, Math.ceil(rows.length / PAGE) - 1));
    box.open = true;
  }
  const go = (to) => { page = to; show(); history.replaceState(null, '', `#${box.dataset.list}:${page + 1}`); };
  prev.onclick = () => go(page - 1);
  next.onclick = () => go(page + 1);
  show();
}
""".replace("PAGE", str(PAGE))

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666} .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(118px,1fr));gap:10px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 10px;min-width:0;font-size:13px}
.card b{display:block;font-size:19px;white-space:nowrap} .card.bad b{color:#c0392b}
ol.next li{margin:4px 0} ol.next code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:6px 0} th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f6f6f6} td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px} details{margin:8px 0} summary{cursor:pointer;font-weight:600}
.pager{margin:6px 0} .pager button{margin-right:6px} .legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px} .muted{color:#777}
"""


def where_stored(s: dict) -> str:
    """Where the bytes are: on disk, in the bucket, at Atlassian (Cloud)."""
    root = str(s["attachments_root"])
    return "in the bucket" if root.startswith("s3://") else "at Atlassian" if root.startswith("http") else "on disk"


def human_bytes(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _bars(items: list[tuple[str, list[tuple[float, str]]]], fmt=str, width: int = 540) -> str:
    """A horizontal (stacked) bar chart: items of (label, [(value, color), ...])."""
    if not items:
        return '<p class="muted">nothing to show</p>'
    label_w, row_h, value_w = 150, 20, 90
    top = max(sum(v for v, _ in segs) for _, segs in items) or 1
    scale = (width - label_w - value_w) / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row_h * len(items) + 4}" role="img">']
    for i, (label, segs) in enumerate(items):
        y = i * row_h + 2
        short = label if len(label) <= 22 else label[:21] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(short)}</text>')
        x = float(label_w)
        for value, color in segs:
            w = value * scale
            if w > 0:
                out.append(
                    f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row_h - 6}" fill="{color}"/>'
                )
            x += w
        total = sum(v for v, _ in segs)
        out.append(f'<text x="{x + 4:.1f}" y="{y + 14}" font-size="12">{escape(fmt(total))}</text>')
    out.append("</svg>")
    return "".join(out)


def _table(headers: list[str], rows: list[list], numeric: Collection[int] = frozenset()) -> str:
    head = "".join(f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(headers))  # fmt: skip
    body = "".join("<tr>" + "".join(_cell(c, i in numeric) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(c, numeric: bool = False) -> str:
    if isinstance(c, tuple | list) and len(c) == 2:
        href, text = c
        inner = (
            f'<a href="{escape(href or "", quote=True)}">{escape(str(text or ""))}</a>'
            if href
            else escape(str(text or ""))
        )
    else:
        inner = escape("" if c is None else str(c))
    return f'<td class="n">{inner}</td>' if numeric else f"<td>{inner}</td>"


def _json(rows: list[list]) -> str:
    # Inside <script>, "</script" or "<!--" in a filename would change how the page parses:
    # no "<" reaches the page unescaped (\u003c is the same character to JSON.parse).
    return orjson.dumps(rows).decode().replace("<", "\\u003c")


def _list(out: TextIO, cursor, key: str, title: str, headers: list[str], shape, count: int, limits: Limits) -> None:
    """One list, written as it is fetched: its first page as a table, then its rows as JSON, a
    chunk at a time, up to ``limits.list_max_rows`` (the page must not be built in memory)."""
    most = limits.list_max_rows
    first = [shape(r) for r in cursor.fetchmany(min(PAGE, most))]
    pager = '<div class="pager"><button type="button">&larr; previous</button><button type="button">next &rarr;</button> <span></span></div>'
    cut = (
        f'<p class="muted">The page holds the first {most:,} of {count:,} rows; {escape(key)}.txt lists them all.</p>'
        if count > most
        else ""
    )
    out.write(
        f'<details id="{key}" data-list="{key}"{" open" if 0 < count <= 50 else ""}>'
        f"<summary>{escape(title)} ({count})</summary>{cut}{pager if count > PAGE else ''}{_table(headers, first)}"
        f'<script type="application/json" id="data-{key}">['
    )
    chunk, separator, left = first, "", most - len(first)
    while chunk:
        out.write(separator + _json(chunk)[1:-1])
        separator = ","
        chunk = [shape(r) for r in cursor.fetchmany(min(limits.list_chunk, left))] if left > 0 else []
        left -= len(chunk)
    out.write("]</script></details>")


def _flagged_row(r: tuple) -> list:
    link, filename, issue_link, issue_key, project, detail = r
    return [[link, filename or "(no name)"], [issue_link, issue_key or "?"], project or "?", detail]


def _orphan_row(r: tuple) -> list:
    relpath, size = r
    return [relpath, human_bytes(size) if size is not None and size >= 0 else "?"]


def _copy_row(r: tuple) -> list:
    link, filename, original_link, original_name, original_issue, issue_key, project, author, size = r
    of = f"{original_name or '(no name)'} ({original_issue})" if original_issue else original_name or "(no name)"
    return [[link, filename or "(no name)"], [original_link, of], issue_key or "?", project or "?", author,
            human_bytes(size)]  # fmt: skip


def _lists(conn: duckdb.DuckDBPyConnection, out: TextIO, sorted_lists: Collection[str], limits: Limits) -> None:
    """Every list. The lists of ``sorted_lists`` are long: their rows are read in order from
    the report's scratch file (limits.few_rows), their counts where they are held."""
    flagged, on_disk = sqlfiles.load("report/html_flagged"), sqlfiles.load("report/html_flagged_sorted")
    orphans = sqlfiles.load("report/html_orphans")
    lists = [
        (key, title, ["attachment", "issue", "project", "what is wrong"], flagged.format(flag=_FLAG[key]),
         on_disk.format(flag=_FLAG[key]) if key in sorted_lists else None, _flagged_row)
        for key, title in _LISTS.items()
    ] + [
        ("orphans", "Orphan files (on disk, no attachment row)", ["path under the root", "size"], orphans,
         sqlfiles.load("report/html_orphans_sorted") if "orphans" in sorted_lists
         else None, _orphan_row),
        ("duplicates", "Duplicate copies", ["copy", "copy of (the first upload)", "issue", "project", "uploaded by", "size"],
         sqlfiles.load("report/html_duplicates"), None, _copy_row),
    ]  # fmt: skip
    count_of = sqlfiles.load("report/html_count")
    for key, title, headers, query, rows_query, shape in lists:
        (count,) = conn.execute(count_of.format(query=query)).fetchone() or (0,)
        # A relation streams its rows as they are fetched (execute() would first hold them all),
        # and _list stops fetching at limits.list_max_rows.
        _list(out, conn.sql(rows_query or query), key, title, headers, shape, count, limits)


def _quick_wins(groups: list[dict], hashed: int) -> str:
    if not groups:
        return '<p class="muted">' + ("no duplicates found" if hashed else
                                      "duplicates not searched: run with <code>--hash</code> (INSPECTOR_HASH=1)") + "</p>"  # fmt: skip
    rows = []
    for g in groups:
        original = next((f for f in g["files"] if f["is_original"]), g["files"][0])
        copies = [f for f in g["files"] if not f["is_original"]]
        links = ", ".join(
            f'<a href="{escape(f["link"], quote=True)}">{escape(f["issue_key"] or str(f["id"]))}</a>'
            for f in copies[:8]
        )
        more = f" and {len(copies) - 8} more" if len(copies) > 8 else ""
        rows.append(
            f'<tr><td><a href="{escape(original["link"], quote=True)}">{escape(g["filename"] or "?")}</a>'
            f' <span class="muted">({escape(original["issue_key"] or "?")}, {escape(str(original["created"])[:10])})</span></td>'
            f'<td class="n">{g["files"].__len__()}</td><td class="n">{human_bytes(g["size"])}</td>'
            f'<td class="n"><b>{human_bytes(g["wasted_bytes"])}</b></td><td>{links}{more}</td></tr>'
        )
    head = '<tr><th>original</th><th class="n">files</th><th class="n">size</th><th class="n">wasted</th><th>copies</th></tr>'
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _cloud(storage: dict) -> str:
    """Jira Cloud's own views: storage by status category, and by years without an update."""
    categories = storage.get("by_status_category") or []
    if not categories:
        return ""
    names = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
    bars = [(names.get(c["status_category"], c["status_category"] or "?"), [(c["bytes"], BAR)]) for c in categories]
    stale = [[names.get(r["status_category"], r["status_category"] or "?"),
              f"{r['years_untouched']}{'+' if r['years_untouched'] == 3 else ''} years", r["issues"], r["attachments"],
              human_bytes(r["bytes"])] for r in storage.get("by_staleness") or []]  # fmt: skip
    return (
        '<h2>By status and age (Jira Cloud)</h2><div class="grid"><div><h3>by status category</h3>'
        + _bars(bars, human_bytes)
        + "</div><div><h3>untouched since the last update</h3>"
        + _table(["status", "untouched", "issues", "attachments", "size"], stale, {2, 3, 4})
        + "</div></div>\n"
    )


def _restores(conn: duckdb.DuckDBPyConnection) -> str:
    """The restore section, when `inspector restore --apply` ran for this pass."""
    counts = conn.execute(sqlfiles.load("report/html_restores")).fetchall()
    if not counts:
        return ""
    parts = []
    for backup in dict.fromkeys(row[0] for row in counts):
        rows = [
            [status, n, human_bytes(copied), str(last or "-")] for b, status, n, copied, last in counts if b == backup
        ]
        parts.append(f"<h2>Restore from {escape(backup)}</h2>"
                     + _table(["status", "attachments", "copied", "last change (UTC)"], rows, {1, 2}))  # fmt: skip
    left = [[r[0], [r[1], r[2] or "?"], r[3], r[4], r[5]]
            for r in conn.execute(sqlfiles.load("report/html_restores_open")).fetchall()]  # fmt: skip
    if left:
        parts.append("<h3>not restored</h3>" + _table(["status", "attachment", "issue", "path", "why"], left))
    return "\n".join(parts) + "\n"


def write(
    conn: duckdb.DuckDBPyConnection, s: dict, storage: dict, out: TextIO, sorted_lists: Collection[str] = (),
    limits: Limits = DEFAULT,
) -> None:  # fmt: skip
    """The page, into ``out``: everything above the lists is small; the lists are streamed."""
    root = str(s["attachments_root"])
    where = where_stored(s)
    account = "" if root.startswith(("s3://", "http")) else f" · evaluated for uid {s['jira_uid']}"
    cards = [
        ("attachments", f"{s['total_attachments']:,}", False), (where, human_bytes(s["disk_bytes"]), False),
        ("missing", f"{s['missing']:,}", s["missing"] > 0), ("permissions", f"{s['permissions']:,}", s["permissions"] > 0),
        ("corrupted", f"{s['corrupted']:,}", s["corrupted"] > 0), ("errors", f"{s['errors']:,}", s["errors"] > 0),
        ("orphan files", f"{s['orphans']:,} ({human_bytes(s['orphan_bytes'])})", False),
        ("in duplicate copies", human_bytes(s["duplicate_bytes"]), False),
    ]  # fmt: skip
    card_html = "".join(
        f'<div class="card{" bad" if bad else ""}"><b>{escape(v)}</b>{escape(k)}</div>' for k, v, bad in cards
    )
    projects = storage["by_project"]
    problems = [(p["project_key"] or "(no project)", [(p[k], COLORS[k]) for k in COLORS])
                for p in projects if any(p[k] for k in COLORS)]  # fmt: skip
    legend = "".join(f'<span><i style="background:{c}"></i>{k}</span>' for k, c in COLORS.items())
    by_project = [(p["project_key"] or "(no project)", [(p["bytes"], BAR)]) for p in projects[:20]]
    by_type = [(t["extension"] or "(none)", [(t["bytes"], BAR)]) for t in storage["by_extension"][:15]]
    by_year = [(str(y["year"]) if y["year"] is not None else "?", [(y["bytes"], BAR)]) for y in storage["by_year"]]
    project_rows = [[p["project_key"] or "(no project)", p["project_name"], p["attachments"], human_bytes(p["bytes"]), p["missing"],
                     p["permissions"], p["corrupted"], p["errors"], human_bytes(p["duplicate_bytes"])] for p in projects]  # fmt: skip
    largest = [[[a["link"], a["filename"] or "?"], [a["issue_link"], a["issue_key"] or "?"], a["author"], human_bytes(a["size"])]
               for a in storage["largest_attachments"][:20]]  # fmt: skip
    state = "finished" if s["status"] == "finished" else f"{s['status']} (partial results)"
    out.write(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Jira attachment inspection, pass {s["pass_id"]}</title><style>{_STYLE}</style></head><body>
<h1>Jira attachment inspection</h1>
<div class="meta">pass {s["pass_id"]}: {escape(state)} · started {escape(str(s["started_at"]))} · finished {escape(str(s["finished_at"] or "-"))}
· {escape(root)}{account} · <a href="{escape(s["jira_url"], quote=True)}">{escape(s["jira_url"])}</a></div>
<div class="cards">{card_html}</div>
{next_steps.html(s) if s.get("shard_count", 1) == 1 else ""}
<h2>Problems by project</h2><div class="legend">{legend}</div>
{_bars(problems, lambda v: f"{int(v):,}")}
<h2>Storage</h2><div class="grid"><div><h3>by project</h3>{_bars(by_project, human_bytes)}</div>
<div><h3>by file type</h3>{_bars(by_type, human_bytes)}</div><div><h3>by year of upload</h3>{_bars(by_year, human_bytes)}</div>
<div><h3>largest attachments</h3>{_table(["attachment", "issue", "uploaded by", "size"], largest, {3})}</div></div>
<h2>Quick wins: duplicates that free the most space</h2>{_quick_wins(storage["quick_wins"], s["hashed_files"])}
<h2>Projects</h2>{_table(["key", "project", "attachments", "on disk", "missing", "permissions", "corrupted", "errors", "in duplicates"], project_rows, {2, 3, 4, 5, 6, 7, 8})}
{_cloud(storage)}{_restores(conn)}<h2>Lists</h2>""")
    _lists(conn, out, sorted_lists, limits)
    out.write(f"""
<script>{_SCRIPT}</script>
</body></html>
""")
