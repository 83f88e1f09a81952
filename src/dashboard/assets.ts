/**
 * The dashboard's only static files, served from our origin (the CSP allows nothing else): a style
 * sheet with system fonts, and the script that keeps a page live. The script reads the page's JSON
 * endpoint every 2 s and writes preformatted text into the cells marked `data-field` (textContent,
 * never HTML); when runs appear or one ends, it reloads the page.
 */
export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1d232b; --muted: #5b6675; --bg: #fbfbfc; --card: #fff; --line: #dde1e6; --accent: #2457c5; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --muted: #9aa5b4; --bg: #12161c; --card: #1a2029; --line: #2c3440; --accent: #7aa2f7; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.5rem; align-items: baseline; padding: .8rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header strong { font-size: 1.05rem; }
header nav a { margin-right: 1rem; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 1.3rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
th, td { padding: .38rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: .82rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; }
.muted { color: var(--muted); }
.status { display: inline-block; padding: .05rem .45rem; border-radius: .6rem; font-size: .8rem; font-weight: 600; background: #e4e8ee; color: #2e3947; }
.status-completed { background: #d7f2df; color: #155c2c; }
.status-completed_with_errors { background: #fdf0cf; color: #7a5300; }
.status-halted, .status-failed { background: #fbdcdc; color: #8a1c1c; }
.status-interrupted, .status-cancelled { background: #e9e3f5; color: #4b3a75; }
.status-reading, .status-sending { background: #dbe7fd; color: #1e4596; }
.status-paused { background: #fdf0cf; color: #7a5300; }
progress { width: 7rem; height: .7rem; vertical-align: middle; }
dl.counts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; background: var(--card); border: 1px solid var(--line); padding: .8rem 1rem; margin: 0; }
dl.counts dt { color: var(--muted); }
dl.counts dd { margin: 0; font-variant-numeric: tabular-nums; }
.actions { display: flex; gap: .6rem; align-items: center; margin: 1rem 0; }
.actions form { display: inline-flex; gap: .4rem; align-items: center; }
button { font: inherit; padding: .3rem .9rem; border-radius: .3rem; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
button.danger { border-color: #c24141; color: #c24141; }
.notice { padding: .6rem .9rem; border: 1px solid var(--line); background: var(--card); margin: 1rem 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
`;

export const LIVE_JS = `'use strict';
(function () {
  var root = document.querySelector('[data-live]');
  if (!root) return;
  var url = root.getAttribute('data-live');
  var shown = Array.prototype.map.call(document.querySelectorAll('[data-run]'), function (el) {
    return el.getAttribute('data-run') + ':' + el.getAttribute('data-live-state');
  }).sort().join(' ');
  function apply(run) {
    var scope = document.querySelectorAll('[data-run="' + CSS.escape(run.runId) + '"]');
    scope.forEach(function (el) {
      el.querySelectorAll('[data-field]').forEach(function (cell) {
        var v = run.cells[cell.getAttribute('data-field')];
        if (typeof v === 'string' && cell.textContent !== v) cell.textContent = v;
        if (cell.getAttribute('data-field') === 'status') cell.className = 'status status-' + run.cells.statusClass;
      });
      el.querySelectorAll('progress[data-share]').forEach(function (bar) {
        if (run.progress.readShare !== null) bar.value = run.progress.readShare;
      });
    });
  }
  function tick() {
    fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) {
        if (!body) return;
        var runs = body.runs || [body];
        var now = runs.map(function (r) { return r.runId + ':' + (r.live ? 'live' : 'done'); }).sort().join(' ');
        if (now !== shown) { location.reload(); return; }
        runs.forEach(apply);
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 2000);
})();
`;
