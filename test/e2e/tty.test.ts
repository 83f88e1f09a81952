/**
 * On a terminal (a pseudo-terminal made by `script`): the progress line, the log lines and the
 * summary never overwrite each other, Ctrl-C's warning stays, and nothing is left hidden or unwrapped.
 */
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { writeJsonl } from '../helpers/files.js';
import { renderTerminal, runOnPty, stripEscapes } from '../helpers/terminal.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'tty-key';
const t = useEmulator(KEY, { rateLimits: { track: { limit: 600, windowMs: 3000 } } });

/** The rendered screen has each summary row whole, on a line of its own. */
function expectSummaryIntact(screen: string[], runId: string, status: string) {
  const at = screen.findIndex((l) => l.startsWith('Run '));
  expect(at, screen.join('\n')).toBeGreaterThanOrEqual(0);
  expect(screen[at]).toMatch(new RegExp(`^Run\\s+${runId}\\s+\\(${status}\\)$`));
  const labels = ['Source', 'Rows', 'Objects', 'Requests', 'Dead letters', 'Data points', 'Duration'];
  for (const label of labels) {
    const line = screen.slice(at).find((l) => l.startsWith(label));
    expect(line, `${label} in:\n${screen.join('\n')}`).toBeDefined();
  }
  expect(screen.find((l) => l.startsWith('Rows'))).toMatch(
    /^Rows\s+[\d,]+ read, [\d,]+ valid, [\d,]+ rejected$/,
  );
  expect(screen.find((l) => l.startsWith('Duration'))).toMatch(/^Duration\s+\d+\.\d s$/);
}

/** No sequence that hides the cursor or turns off wrapping, so a killed process leaves neither. */
function expectTerminalUntouched(raw: string) {
  expect(raw).not.toContain('\x1b[?25l');
  expect(raw).not.toContain('\x1b[?7l');
}

describe('run on a terminal', () => {
  it('shows a progress line that fits 80 columns, then the whole summary', async () => {
    t.emu.reset();
    const { path } = writeJsonl(t.dir, 8000, 81, 0);
    const pty = runOnPty(
      ['run', path, '--run-id', 'tty-done'],
      t.env({ BRAZE_TRACK_RATE_LIMIT: '600/3s', LOG_LEVEL: 'info', LOG_FORMAT: 'auto' }),
    );
    await waitFor(() => /accepted \| .*rows\/s/.test(pty.output()));
    const { code, raw } = await pty.result;
    expect(code).toBe(0);
    const progress = raw.split(/\r|\n/).filter((l) => l.includes('rows/s'));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) {
      const text = stripEscapes(line);
      expect([...text].length, JSON.stringify(text)).toBeLessThanOrEqual(79);
      const m = /([\d,]+)\/([\d,]+) accepted/.exec(text);
      if (m) expect(Number(m[1]!.replace(/,/g, ''))).toBeLessThanOrEqual(Number(m[2]!.replace(/,/g, '')));
      expect(text).toMatch(/ETA (--:--|\d+:\d\d)/);
    }
    const screen = renderTerminal(raw);
    expectSummaryIntact(screen, 'tty-done', 'completed');
    // Log lines (run started, input read) are readable text, not JSON, and were not overwritten.
    expect(screen.some((l) => /INFO.*run started/.test(l))).toBe(true);
    expect(screen.some((l) => /^\{"level"/.test(l))).toBe(false);
    expectTerminalUntouched(raw);
  });

  it('after Ctrl-C the warning stays and the interrupted summary is whole', async () => {
    t.emu.reset();
    const { path } = writeJsonl(t.dir, 30_000, 82, 0);
    const pty = runOnPty(['run', path, '--run-id', 'tty-int'], t.env({ BRAZE_TRACK_RATE_LIMIT: '600/3s' }));
    await waitFor(() => t.emu.stats().objects.accepted > 2000);
    pty.type('\x03');
    const { code, raw } = await pty.result;
    expect(code).toBe(1);
    const screen = renderTerminal(raw);
    expect(screen).toContain(
      'stopping: no more reading; waiting for requests in flight (Ctrl-C again to force)',
    );
    expectSummaryIntact(screen, 'tty-int', 'interrupted');
    expect(screen.some((l) => /^Continue with: braze-import run .* --resume tty-int$/.test(l))).toBe(true);
    expectTerminalUntouched(raw);
  });

  it('a forced stop (Ctrl-C twice) leaves the terminal as it was', async () => {
    t.emu.reset();
    t.emu.setFaults({ latencyMs: 1000 });
    try {
      const { path } = writeJsonl(t.dir, 30_000, 83, 0);
      const pty = runOnPty(
        ['run', path, '--run-id', 'tty-force'],
        t.env({ BRAZE_TRACK_RATE_LIMIT: '600/3s' }),
      );
      await waitFor(() => t.emu.stats().requests.total > 10);
      pty.type('\x03');
      await new Promise((r) => setTimeout(r, 200));
      pty.type('\x03');
      const { code, raw } = await pty.result;
      expect(code).toBe(130);
      expectTerminalUntouched(raw);
      const screen = renderTerminal(raw);
      // The last thing on screen is not a half-drawn progress line.
      const last = screen.filter((l) => l.length > 0).at(-1) ?? '';
      expect(last).not.toMatch(/rows\/s/);
    } finally {
      t.emu.setFaults({ latencyMs: 0 });
    }
  });
});
