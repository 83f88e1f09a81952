/**
 * lowerPriority in a process of its own (a nice value cannot be raised back without privilege): every
 * thread that exists is lowered, the sender-like worker thread started before included, a thread
 * started after inherits it, and 0 changes nothing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { threadNiceness } from '../helpers/threads.js';

const MODULE = fileURLToPath(new URL('../../dist/src/infra/priority.js', import.meta.url));

/** A child that starts a worker thread, lowers itself to `nice`, then starts a second one; its niceness at each step. */
async function lowered(nice: number): Promise<{ before: number[]; after: number[]; result: unknown }> {
  const script = `
    import { Worker } from 'node:worker_threads';
    import { lowerPriority } from ${JSON.stringify(MODULE)};
    const idle = 'setInterval(() => {}, 1000)';
    const started = (w) => new Promise((r) => w.once('online', r));
    await started(new Worker(idle, { eval: true }));
    const result = lowerPriority(${nice});
    process.stdout.write(JSON.stringify(result) + '\\n');
    process.stdin.once('data', async () => {
      await started(new Worker(idle, { eval: true }));
      process.stdout.write('again\\n');
    });
    process.stdin.once('end', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const next = () =>
    new Promise<string>((resolve) => {
      const onData = (d: Buffer) => {
        lines.push(...d.toString().trim().split('\n'));
        child.stdout.off('data', onData);
        resolve(lines.shift() ?? '');
      };
      child.stdout.on('data', onData);
    });
  const result: unknown = JSON.parse(await next());
  const before = threadNiceness(child.pid ?? 0);
  child.stdin.write('x');
  expect(await next()).toBe('again');
  const after = threadNiceness(child.pid ?? 0);
  child.stdin.end();
  await once(child, 'close');
  return { before, after, result };
}

describe.runIf(process.platform === 'linux')('lowerPriority', () => {
  it('lowers every thread, those started before and after', async () => {
    const own = Math.max(...threadNiceness(process.pid));
    const { before, after, result } = await lowered(Math.max(own, 7));
    expect(before.length).toBeGreaterThan(3);
    expect(new Set(before)).toEqual(new Set([Math.max(own, 7)]));
    expect(after.length).toBeGreaterThan(before.length);
    expect(new Set(after)).toEqual(new Set([Math.max(own, 7)]));
    expect(result).toMatchObject({ refused: 0 });
  });

  it('0 leaves the process as it was', async () => {
    const own = new Set(threadNiceness(process.pid));
    const { before, after, result } = await lowered(0);
    expect(new Set(before)).toEqual(own);
    expect(new Set(after)).toEqual(own);
    expect(result).toEqual({ lowered: 0, refused: 0 });
  });
});
