import { formatStart } from '../control/progress.js';
import { cellsOf } from './cells.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';
import type { RunView } from './run-view.js';
import type { Schedule } from './schedules.js';

const runLink = (id: string) => html`<a href="/runs/${encodeURIComponent(id)}">${id}</a>`;

function runRow(v: RunView): SafeHtml {
  const c = cellsOf(v);
  const cell = (field: string, cls = 'num') =>
    html`<td class="${cls}" data-field="${field}">${c[field]}</td>`;
  return html`<tr data-run="${v.runId}" data-live-state="${v.live ? 'live' : 'done'}">
<td>${runLink(v.runId)}</td>
<td data-field="kind">${c['kind']}</td>
<td title="${v.source}">${v.source}</td>
<td><span class="status status-${c['statusClass']}" data-field="status">${c['status']}</span></td>
${cell('started', '')}${cell('duration')}
<td class="num"><progress data-share max="1" value="${v.progress.readShare ?? 0}"></progress> <span data-field="read">${c['read']}</span></td>
${cell('accepted')}${cell('rejected')}${cell('failed')}${cell('rate')}${cell('eta')}${cell('rateLimited')}${cell('possibleDuplicates')}
</tr>`;
}

function schedulesTable(schedules: readonly Schedule[]): SafeHtml {
  if (schedules.length === 0) return html`<p class="muted">No schedules.</p>`;
  return html`<table>
<thead><tr><th>Schedule</th><th>Kind</th><th>Rule</th><th>Next firing</th><th>Last result</th></tr></thead>
<tbody>${schedules.map(
    (s) => html`<tr>
<td>${s.name}</td><td>${s.kind}</td><td><code>${s.rule}</code></td>
<td>${s.nextAt === undefined ? html`<span class="muted">not scheduled</span>` : formatStart(s.nextAt)}</td>
<td>${s.lastRunId ? html`<span class="status status-${s.lastStatus ?? ''}">${s.lastStatus ?? '?'}</span> ${runLink(s.lastRunId)}${s.lastAt === undefined ? '' : html` <span class="muted">${formatStart(s.lastAt)}</span>`}` : html`<span class="muted">never fired</span>`}</td>
</tr>`,
  )}</tbody></table>`;
}

/** `/`: recent runs, syncs and backfills, live while any is going; then the schedules. */
export function runsPage(views: readonly RunView[], schedules: readonly Schedule[], limit: number): string {
  const body = html`<h1>Runs</h1>
${
  views.length === 0
    ? html`<p class="muted" data-run-list>No runs yet. Start one with <code>braze-import run FILE</code>.</p>`
    : html`<table>
<thead><tr><th>Run</th><th>Kind</th><th>Source</th><th>Status</th><th>Started</th><th class="num">Duration</th><th class="num">Read</th><th class="num">Accepted</th><th class="num">Rejected</th><th class="num">Failed</th><th class="num">Rate</th><th class="num">ETA</th><th class="num">429s</th><th class="num">Possible dups</th></tr></thead>
<tbody>${views.map(runRow)}</tbody></table>`
}
<h2>Schedules</h2>
${schedulesTable(schedules)}`;
  return page('Runs', body, { live: `/api/runs?limit=${limit}` });
}
