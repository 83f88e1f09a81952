import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeCsv } from '../helpers/files.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'status-test-key';
// Slow answers, so that a run lasts long enough to be watched.
const emu = useEmulator(KEY, { faults: { latencyMs: 100 } });

describe('status --watch', () => {
  it("refreshes a run's line until it ends, then prints its summary and exits as run would", async () => {
    const env = emu.env();
    const { path } = writeCsv(emu.dir, 6000, 71, 0.01);
    const run = startCli(['run', path, '--run-id', 'watched', '--concurrency', '2'], env);
    run.stdin?.end();
    try {
      await waitFor(async () => (await runCli(['status', 'watched', '--json'], env)).code === 0, 60_000, 100);
      const watch = await runCli(['status', 'watched', '--watch'], env);
      const ran = await run.result;
      expect(ran.code).toBe(3);
      expect(watch.code).toBe(3);
      const lines = watch.stdout.trim().split('\n');
      const progress = lines.filter((l) => l.startsWith('watched '));
      // At least one line while it was going, and the last one at its end.
      expect(progress.length).toBeGreaterThan(1);
      expect(progress[0]).toMatch(
        /^watched (reading|sending) \| .* accepted \| \d+ rejected \| \d+ failed \| [\d,]+ obj\/s \| ETA [-\d:]+ \| \d+ 429s$/,
      );
      expect(progress.at(-1)).toMatch(
        /^watched completed_with_errors \| 100% read \| [\d,]+\/[\d,]+ accepted/,
      );
      expect(watch.stdout).toMatch(/^Run\s+watched {2}\(completed_with_errors\)$/m);
    } finally {
      if (run.exitCode === null) run.kill('SIGKILL');
    }
  });
});

describe('status --all', () => {
  it('lists runs newest first with kind, status, start, duration and counts in aligned columns', async () => {
    const env = emu.env();
    const a = writeCsv(emu.dir, 40, 72, 0);
    const b = writeCsv(emu.dir, 60, 73, 0.1);
    expect((await runCli(['run', a.path, '--run-id', 'first'], env)).code).toBe(0);
    expect((await runCli(['run', b.path, '--run-id', 'second'], env)).code).toBe(3);
    const r = await runCli(['status', '--all'], env);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^RUN\s+KIND\s+STATUS\s+STARTED\s+DURATION\s+ROWS\s+REJECTED\s+ACCEPTED\s+FAILED\s+NOT SENT\s+DEAD LETTERS\s+SOURCE$/,
    );
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['second', 'first']);
    expect(rows[0]).toMatch(
      /^second\s+run\s+completed_with_errors\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+[\d.]+ m?s\s+60\s+\d+\s/,
    );
    expect(rows[1]).toMatch(/^first\s+run\s+completed\s+.*\s40\s+0\s+/);
    // Every column starts at the same place on every line.
    const at = (line: string, word: string) => line.indexOf(word);
    expect(at(rows[0] ?? '', b.path)).toBe(at(header ?? '', 'SOURCE'));
    expect(at(rows[1] ?? '', a.path)).toBe(at(header ?? '', 'SOURCE'));
    expect(at(rows[0] ?? '', 'completed_with_errors')).toBe(at(header ?? '', 'STATUS'));
  });
});

describe('check', () => {
  it('verifies the key with a request that writes nothing', async () => {
    const env = emu.env();
    const before = (await (await fetch(`${emu.emu.url}/_emulator/stats`)).json()) as {
      objects: { accepted: number };
    };
    const ok = await runCli(['check'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^Key check:\s+accepted \(Braze answered 400 to an empty request, as expected\)$/m,
    );
    const after = (await (await fetch(`${emu.emu.url}/_emulator/stats`)).json()) as {
      objects: { accepted: number };
    };
    expect(after.objects.accepted).toBe(before.objects.accepted);
  });

  it('exits 2 with one line per problem when the key is refused or something required is missing', async () => {
    const wrong = await runCli(['check'], emu.env({ BRAZE_API_KEY: 'not-the-key' }));
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toMatch(/^Key check:\s+refused \(401\)/m);
    expect(wrong.stderr.trim()).toMatch(/^braze-import: BRAZE_API_KEY: refused \(401\)/);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-key');
    const missing = await runCli(['check'], emu.env({ BRAZE_API_KEY: '', BRAZE_REST_ENDPOINT: '' }));
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/BRAZE_REST_ENDPOINT: not set/),
      expect.stringMatching(/BRAZE_API_KEY: not set/),
    ]);
    const skipped = await runCli(['check', '--no-verify-key'], emu.env({ BRAZE_API_KEY: 'not-the-key' }));
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).not.toContain('Key check');
  });
});
