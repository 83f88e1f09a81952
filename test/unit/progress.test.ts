import { describe, expect, it } from 'vitest';
import { formatDuration, progressText } from '../../jobs/progress.js';
import type { RunRecord } from '../../src/runs/store.js';

const run = (o: Partial<RunRecord> = {}): RunRecord => ({
  runId: 'r',
  status: 'sending',
  source: 'f',
  createdAt: 0,
  producerDone: false,
  rowsRead: 0,
  rowsValid: 0,
  rowsRejected: 0,
  chunks: 0,
  objects: 0,
  objectsAccepted: 0,
  objectsFailed: 0,
  jobsOpen: 0,
  requestsSent: 0,
  requestsRetried: 0,
  requestsRateLimited: 0,
  deadLetters: 0,
  dataPoints: 0,
  possibleDuplicates: 0,
  resumes: 0,
  bytesRead: 0,
  ...o,
});

describe('the progress line', () => {
  it('says how much of the input is read, what is accepted, the rates and a labelled ETA', () => {
    const text = progressText(
      run({ inputBytes: 1000, bytesRead: 250, objects: 400, objectsAccepted: 300, rowsRead: 250 }),
      12_345,
      456,
      20_000,
      10_000,
    );
    expect(text).toBe(' 25% read | 300/400 accepted | 12,345 rows/s | 456 req/s | ETA 0:30');
  });

  it('after reading: 100% read, and the ETA comes from what is left to accept', () => {
    const text = progressText(
      run({ producerDone: true, objects: 1000, objectsAccepted: 400 }),
      0,
      10,
      100,
      5000,
    );
    expect(text).toBe(' 100% read | 400/1,000 accepted | 0 rows/s | 10 req/s | ETA 0:06');
  });

  it('never shows a value above its total, and fits 80 columns even with large numbers', () => {
    // A resumed run whose earlier accepted objects exceed what this reading has queued so far.
    const text = progressText(
      run({
        inputBytes: 10,
        bytesRead: 20,
        objects: 5,
        objectsAccepted: 999_999_999,
        objectsFailed: 12_345,
        rowsRead: 1e9,
      }),
      9_999_999,
      99_999,
      1,
      1e9,
    );
    expect(text).toContain('100% read');
    expect(text).toContain('5/5 accepted');
    expect([...text].length).toBeLessThanOrEqual(100);
  });

  it('stdin (size unknown): rows read instead of a share, and no ETA until it ends', () => {
    const text = progressText(run({ rowsRead: 5000, objects: 75 }), 1000, 1, 75, 60_000);
    expect(text).toMatch(/^ 5,000 rows read \| .* ETA --:--$/);
  });

  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61_000)).toBe('1:01');
    expect(formatDuration(3_726_000)).toBe('1:02:06');
  });
});
