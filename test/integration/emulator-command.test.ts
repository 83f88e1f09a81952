import { Command } from 'commander';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emulatorCommand } from '../../jobs/emulator-command.js';
import { startEmulator } from '../../src/emulator/index.js';
import { UsageError } from '../../src/errors.js';

function program(): Command {
  const p = new Command('braze-import').exitOverride();
  emulatorCommand(p);
  return p;
}

/** Lets the test deliver SIGTERM to the command alone, not to the test runner's own handlers. */
function isolateSignal(): () => void {
  const saved = process.listeners('SIGTERM');
  process.removeAllListeners('SIGTERM');
  return () => {
    process.removeAllListeners('SIGTERM');
    for (const l of saved) process.on('SIGTERM', l);
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('braze-import emulator', () => {
  it('prints one listening line, serves Braze requests and stops on SIGTERM', async () => {
    const restore = isolateSignal();
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const run = program().parseAsync([
        'node',
        'braze-import',
        'emulator',
        '--port',
        '0',
        '--api-key',
        'k1',
        '--latency-jitter-ms',
        '5',
        '--arrival-jitter-ms',
        '20',
      ]);
      await vi.waitFor(() => expect(lines).toHaveLength(1), { timeout: 5000 });
      const match = /^Braze emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(lines[0] ?? '');
      expect(match).not.toBeNull();
      const res = await request(`${match?.[1]}/users/track`, {
        method: 'POST',
        headers: { authorization: 'Bearer k1' },
        body: JSON.stringify({ attributes: [{ external_id: 'cli' }] }),
      });
      expect(res.statusCode).toBe(201);
      await res.body.dump();
      const faults = await request(`${match?.[1]}/_emulator/faults`);
      expect(await faults.body.json()).toMatchObject({ latencyJitterMs: 5, arrivalJitterMs: 20 });
      process.emit('SIGTERM', 'SIGTERM');
      await run;
      await expect(request(`${match?.[1]}/_emulator/stats`)).rejects.toThrow();
    } finally {
      restore();
    }
  });

  it('rejects bad flags with every problem at once', async () => {
    const run = program().parseAsync([
      'node',
      'x',
      'emulator',
      '--port',
      'http',
      '--fail-rate',
      '2',
      '--window',
      'x',
    ]);
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toMatchObject({
      lines: [
        expect.stringMatching(/^--port: /),
        expect.stringMatching(/^--window: /),
        expect.stringMatching(/^--fail-rate: /),
      ],
    });
  });

  it('reports a busy port as a usage error', async () => {
    const busy = await startEmulator({ port: 0 });
    const handlers = process.listenerCount('SIGTERM');
    try {
      const run = program().parseAsync(['node', 'x', 'emulator', '--port', String(busy.port)]);
      await expect(run).rejects.toThrow(/EADDRINUSE/);
      await expect(run).rejects.toBeInstanceOf(UsageError);
      expect(process.listenerCount('SIGTERM')).toBe(handlers);
    } finally {
      await busy.close();
    }
  });
});
