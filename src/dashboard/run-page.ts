import { cellsOf } from './cells.js';
import type { LetterGroups } from './dead-letters.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';
import type { RunView } from './run-view.js';

/** What an action left to say on the page it redirects to; a fixed set, so no text is reflected. */
export const NOTICES: Record<string, string> = {
  paused: 'Paused: requests in flight finish; nothing more is sent until you resume.',
  resumed: 'Resumed: its chunks are being sent again.',
  cancelled: 'Cancelled: what it had queued was dropped and counts as not attempted.',
};

/** An example's external_id, cut to a length a table can hold (an over-long id is why some rows fail). */
function shortId(id: string | null): SafeHtml {
  if (id === null) return html`<span class="muted">(none)</span>`;
  if (id.trim() === '') return html`<span class="muted">(empty)</span>`;
  const cut = [...id];
  return html`<code>${cut.length > 48 ? `${cut.slice(0, 48).join('')}…` : id}</code>`;
}

const runHref = (id: string) => `/runs/${encodeURIComponent(id)}`;

function counts(v: RunView): SafeHtml {
  const c = cellsOf(v);
  const row = (label: string, field: string) =>
    html`<dt>${label}</dt><dd data-field="${field}">${c[field]}</dd>`;
  return html`<dl class="counts">
<dt>Status</dt><dd><span class="status status-${c['statusClass']}" data-field="status">${c['status']}</span></dd>
${v.reason ? html`<dt>Reason</dt><dd class="wrap">${v.reason}</dd>` : ''}
<dt>Kind</dt><dd>${v.kind}${v.mode ? html` <span class="muted">(${v.mode === 'fleet' ? 'sent by workers' : 'sent by its run process'})</span>` : ''}</dd>
<dt>Source</dt><dd>${v.source}</dd>
${v.replayOf ? html`<dt>Replay of</dt><dd><a href="${runHref(v.replayOf)}">${v.replayOf}</a></dd>` : ''}
${v.replayedBy ? html`<dt>Replayed by</dt><dd><a href="${runHref(v.replayedBy)}">${v.replayedBy}</a></dd>` : ''}
${row('Started', 'started')}${row('Duration', 'duration')}
<dt>Input read</dt><dd><progress data-share max="1" value="${v.progress.readShare ?? 0}"></progress> <span data-field="read">${c['read']}</span></dd>
${row('Rows read', 'rowsRead')}${row('Rows valid', 'rowsValid')}${row('Rows rejected', 'rejected')}
${row('Objects queued', 'objects')}${row('Accepted', 'accepted')}${row('Failed', 'failed')}${row('Not attempted', 'notAttempted')}
${row('Rate (objects)', 'rate')}${row('ETA', 'eta')}
${row('Requests', 'requests')}${row('Retried', 'retried')}${row('Rate-limited (429)', 'rateLimited')}
${row('Possible duplicates', 'possibleDuplicates')}${row('Dead letters', 'deadLetters')}${row('Data points', 'dataPoints')}
</dl>`;
}

function actions(v: RunView, allowActions: boolean): SafeHtml {
  if (!allowActions) return html``;
  const form = (action: string, label: string, extra: SafeHtml | string = '', cls = '') =>
    html`<form method="post" action="${runHref(v.runId)}/${action}">${extra}<button type="submit" class="${cls}">${label}</button></form>`;
  const buttons: SafeHtml[] = [];
  if (v.live && !v.abandoned) buttons.push(v.paused ? form('resume', 'Resume') : form('pause', 'Pause'));
  if (v.status !== 'completed' && v.status !== 'completed_with_errors' && v.status !== 'cancelled') {
    const confirm = html`<label><input type="checkbox" name="confirm" value="yes" required> drop what it has queued</label>`;
    buttons.push(form('cancel', 'Cancel run', confirm, 'danger'));
  }
  return buttons.length > 0 ? html`<div class="actions">${buttons}</div>` : html``;
}

function letters(v: RunView, groups: LetterGroups): SafeHtml {
  if (v.deadLetters === 0 && groups.scanned === 0)
    return html`<h2>Dead letters</h2><p class="muted">None.</p>`;
  const base = `${runHref(v.runId)}/dead-letters`;
  return html`<h2>Dead letters</h2>
<p>Download as the CLI writes them (the rows in their own shape, with <code>_error_code</code>, <code>_error_message</code>, <code>_source_line</code>):
<a href="${base}.csv" download>CSV</a> · <a href="${base}.jsonl" download>JSONL</a></p>
${groups.complete ? '' : html`<p class="muted">Grouped from the first ${groups.scanned.toLocaleString('en-US')} letters.</p>`}
<table id="dead-letters">
<thead><tr><th>Code</th><th class="num">Count</th><th>Stage</th><th>Examples (line: external_id)</th></tr></thead>
<tbody>${groups.groups.map(
    (
      g,
    ) => html`<tr data-code="${g.code}"><td><code>${g.code}</code></td><td class="num">${g.count.toLocaleString('en-US')}</td>
<td>${g.stages.join(', ')}${g.maybeDelivered > 0 ? html` <span class="muted">(${g.maybeDelivered} may already be in Braze)</span>` : ''}</td>
<td class="wrap">${g.examples.map((e, i) => html`${i > 0 ? ', ' : ''}line ${e.line}: ${shortId(e.externalId)}`)}</td></tr>`,
  )}</tbody></table>`;
}

/** `/runs/<id>`: the run's counts, its dead letters by code, the export, and (if allowed) actions. */
export function runPage(
  v: RunView,
  groups: LetterGroups,
  o: { allowActions: boolean; notice?: string | undefined; problem?: string | undefined },
): string {
  const notice = o.notice ? NOTICES[o.notice] : undefined;
  const body = html`<div data-run="${v.runId}" data-live-state="${v.live ? 'live' : 'done'}">
<p><a href="/">← Runs</a></p>
<h1>Run <code>${v.runId}</code></h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${o.problem ? html`<p class="notice" role="alert">${o.problem}</p>` : ''}
${counts(v)}
${actions(v, o.allowActions)}
${letters(v, groups)}
</div>`;
  return page(`Run ${v.runId}`, body, { live: `/api/runs/${encodeURIComponent(v.runId)}` });
}
