import { describe, expect, it } from 'vitest';
import { judgeKeyAnswer } from '../../jobs/check-command.js';
import { alignColumns } from '../../jobs/status-views.js';
import { notifyTarget } from '../../schemas/observe.js';
import { addSample, formatDuration, formatEta, progressOf, type Sample } from '../../src/control/progress.js';
import { kindOf } from '../../src/control/run-kind.js';
import { safeFailedReason } from '../../src/dashboard/board-sanitize.js';
import { escapeHtml, html } from '../../src/dashboard/html.js';
import { fileName, safeReason } from '../../src/dashboard/run-view.js';
import { allowedHosts, hostnameOf } from '../../src/dashboard/security.js';
import { notificationFor } from '../../src/notify/notify.js';
import { COUNTERS, type RunRecord } from '../../src/runs/store.js';
import { summarize } from '../../src/runs/summary.js';

function record(overrides: Partial<RunRecord> = {}): RunRecord {
  const counts = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<(typeof COUNTERS)[number], number>;
  return {
    ...counts,
    runId: 'r1',
    status: 'sending',
    source: '/srv/in/users.csv',
    createdAt: 1_000_000,
    producerDone: false,
    ...overrides,
  };
}

describe('html', () => {
  it('escapes every value but SafeHtml, joins arrays, drops nullish and false', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;',
    );
    const inner = html`<b>${'<i>'}</b>`;
    expect(
      html`<p title="${'"x"'}">${inner}${['<', html`<br>`]}${undefined}${null}${false}${0}</p>`.text,
    ).toBe('<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&lt;<br>0</p>');
  });
});

describe('what a page may say', () => {
  it('keeps file names, never paths', () => {
    expect(fileName('/srv/imports/2026/users.csv')).toBe('users.csv');
    expect(fileName('C:\\data\\users.csv')).toBe('users.csv');
    expect(fileName('-')).toBe('-');
  });

  it("takes Braze's answer text and paths out of a reason, keeping its status and our advice", () => {
    expect(
      safeReason(
        'Braze answered 401 {"message":"Invalid API Key"}: check BRAZE_API_KEY and its users.track permission',
      ),
    ).toBe('Braze answered 401: check BRAZE_API_KEY and its users.track permission');
    expect(
      safeReason(
        'input unreadable after 10 rows (/srv/in/users.csv: line 11: bad quote); rows before it were sent',
      ),
    ).toBe('input unreadable after 10 rows (users.csv: line 11: bad quote); rows before it were sent');
    expect(safeReason('stopped by a signal; continue with --resume r1')).toBe(
      'stopped by a signal; continue with --resume r1',
    );
  });

  it("words failed chunks' reasons itself", () => {
    expect(safeFailedReason('HTTP 503 <html>upstream ada@example.com</html>')).toBe(
      "HTTP 503 (Braze's answer is not shown here)",
    );
    expect(
      safeFailedReason(
        'Braze answered 403 {"message":"Access Denied"}: check BRAZE_API_KEY and its users.track permission',
      ),
    ).toBe('Braze answered 403: check BRAZE_API_KEY and its users.track permission');
    expect(safeFailedReason('request failed: ECONNRESET (socket hang up)')).toBe(
      'request failed: ECONNRESET',
    );
    expect(safeFailedReason('failed: something with /srv/app/x.js')).toMatch(
      /^failed \(details are not shown/,
    );
    expect(safeFailedReason('')).toBeUndefined();
  });
});

describe('Host allow-list', () => {
  it('reads names from Host headers and allows localhost, the bound address and public names', () => {
    expect(hostnameOf('Example.COM:3000')).toBe('example.com');
    expect(hostnameOf('[::1]:3000')).toBe('::1');
    expect(hostnameOf('localhost')).toBe('localhost');
    const bound = allowedHosts('10.0.0.5', ['dash.example.com']);
    for (const h of ['localhost', '127.0.0.1', '::1', '10.0.0.5', 'dash.example.com'])
      expect(bound.has(h), h).toBe(true);
    expect(bound.has('rebind.evil.example')).toBe(false);
    // A wildcard bind allows this machine's own addresses (what a probe or a port mapping uses), not any name.
    const any = allowedHosts('0.0.0.0');
    expect(any.has('127.0.0.1')).toBe(true);
    expect(any.has('evil.example')).toBe(false);
  });
});

describe('run kinds and progress', () => {
  it('a kind is the record field, else replay for a replay, else run', () => {
    expect(kindOf({})).toBe('run');
    expect(kindOf({ replayOf: 'r0' })).toBe('replay');
    expect(kindOf({ kind: 'sync' })).toBe('sync');
    expect(kindOf({ kind: 'backfill', replayOf: 'r0' })).toBe('backfill');
    expect(kindOf({ kind: 'bogus' })).toBe('run');
  });

  it('reading: share read and an ETA from it; sending: rate and what is left', () => {
    const reading = record({ inputBytes: 1000, bytesRead: 250, createdAt: 0 });
    expect(progressOf(reading, [], true, 10_000)).toMatchObject({ readShare: 0.25, etaMs: 30_000 });
    const sending = record({
      producerDone: true,
      objects: 1000,
      objectsAccepted: 400,
      objectsFailed: 100,
      createdAt: 0,
    });
    let samples: Sample[] = [];
    samples = addSample(samples, { ...sending, objectsAccepted: 200, objectsFailed: 100 }, 1000);
    samples = addSample(samples, sending, 3000);
    const p = progressOf(sending, samples, true, 3000);
    expect(p.rate).toBe(100);
    expect(p.etaMs).toBe(5000);
    const done = record({
      status: 'completed',
      producerDone: true,
      objects: 1000,
      objectsAccepted: 1000,
      createdAt: 0,
      finishedAt: 4000,
    });
    expect(progressOf(done, [], false, 9999)).toMatchObject({ rate: 250, etaMs: 0, readShare: 1 });
    expect(progressOf(record({ source: '-' }), [], true, 5000).readShare).toBeUndefined();
  });

  it('formats durations and ETAs for people', () => {
    expect(formatEta(undefined)).toBe('--:--');
    expect(formatEta(65_000)).toBe('1:05');
    expect(formatEta(3_725_000)).toBe('1:02:05');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(7_380_000)).toBe('2 h 03 min');
  });
});

describe('CLI helpers', () => {
  it('aligns columns: numbers right, text left, the last column as it is', () => {
    expect(
      alignColumns(
        [
          ['RUN', 'ROWS', 'SOURCE'],
          ['a', '1,000', 'x.csv'],
          ['long-run', '7', '/p/y.csv'],
        ],
        [false, true, false],
      ),
    ).toBe(['RUN        ROWS  SOURCE', 'a         1,000  x.csv', 'long-run      7  /p/y.csv'].join('\n'));
  });

  it("judges Braze's answer to the empty request that verifies a key", () => {
    expect(judgeKeyAnswer(400).ok).toBe(true);
    expect(judgeKeyAnswer(201).ok).toBe(true);
    expect(judgeKeyAnswer(429).ok).toBe(true);
    expect(judgeKeyAnswer(401)).toMatchObject({ ok: false, text: expect.stringMatching(/wrong key/) });
    expect(judgeKeyAnswer(403)).toMatchObject({ ok: false, text: expect.stringMatching(/users\.track/) });
    expect(judgeKeyAnswer(404)).toMatchObject({
      ok: false,
      text: expect.stringMatching(/BRAZE_REST_ENDPOINT/),
    });
    expect(judgeKeyAnswer(503).ok).toBe(false);
  });
});

describe('notifications', () => {
  it('the summary with a Slack-compatible text naming the file, not its path', () => {
    const s = summarize(
      record({
        status: 'completed_with_errors',
        finishedAt: 1_002_500,
        rowsRead: 10,
        rowsValid: 9,
        rowsRejected: 1,
        objects: 9,
        objectsAccepted: 9,
        deadLetters: 1,
      }),
    );
    const n = notificationFor(s);
    expect(n).toMatchObject({
      runId: 'r1',
      status: 'completed_with_errors',
      rows: { read: 10, rejected: 1 },
    });
    expect(n.text).toBe(
      ':warning: braze-import run r1 (users.csv) completed_with_errors: 10 rows read, 9 objects accepted, 0 failed, 1 rows rejected; 2.5 s',
    );
  });

  it('takes the flag over the variable, https or loopback http, and never quotes a URL', () => {
    expect(notifyTarget(undefined, {})).toEqual({ ok: true, url: undefined });
    expect(
      notifyTarget(undefined, { BRAZE_IMPORT_NOTIFY_URL: 'https://hooks.example.com/T/B/secret' }),
    ).toEqual({ ok: true, url: 'https://hooks.example.com/T/B/secret' });
    expect(notifyTarget('http://127.0.0.1:9/x', { BRAZE_IMPORT_NOTIFY_URL: 'https://a.example' })).toEqual({
      ok: true,
      url: 'http://127.0.0.1:9/x',
    });
    const plain = notifyTarget('http://hooks.example.com/secret-path', {});
    expect(plain).toEqual({ ok: false, problem: '--notify: must use https (plain http only to loopback)' });
    expect(notifyTarget(undefined, { BRAZE_IMPORT_NOTIFY_URL: 'nope' })).toEqual({
      ok: false,
      problem: 'BRAZE_IMPORT_NOTIFY_URL: not a URL',
    });
    expect(notifyTarget('https://u:p@hooks.example.com/', {})).toMatchObject({ ok: false });
  });
});
