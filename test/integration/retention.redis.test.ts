import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { trackJobOptions } from '../../src/infra/queues.js';
import { createRunStore, runKeys } from '../../src/runs/store.js';
import { runStart } from '../helpers/factories.js';
import { useTestRedis } from '../helpers/redis.js';

const RETENTION_MS = 5000;
const t = useTestRedis('ret');
const prefix = t.prefix;

async function keysUnder(p: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await t.redis().scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

/** key -> PTTL in ms (-1: no expiry, -2: gone). */
async function ttls(keys: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = await t.redis().pttl(k);
  return out;
}

/** Every key under the prefix (which must include `expected`) expires within (0, retentionMs]. */
async function expectAllExpiring(p: string, retentionMs: number, expected: string[]): Promise<void> {
  const keys = await keysUnder(p);
  expect(keys).toEqual(expect.arrayContaining(expected));
  for (const [key, ms] of Object.entries(await ttls(keys))) {
    expect(ms, key).toBeGreaterThan(0);
    expect(ms, key).toBeLessThanOrEqual(retentionMs);
  }
}

const letter = (line: number, stage: string) =>
  JSON.stringify({ runId: 'r', source: 'f.csv', line, stage, code: 'x', message: 'm', at: 1 });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('retention: every key a run writes expires', () => {
  it('run hash, ledger, enqueued set, both dead-letter lists and the index have a TTL within (0, retention]', async () => {
    const p = prefix();
    const runs = createRunStore(t.redis(), p, RETENTION_MS);
    const k = runKeys(p, 'run-a');
    expect(await runs.create('run-a', runStart('f.csv'))).toBe(true);
    await runs.producerBatch('run-a', 0, {}, [
      { line: 3, text: letter(3, 'rejected') },
      { line: 9, text: letter(9, 'rejected') },
    ]);
    expect(await runs.claim('run-a', ['run-a-0', 'run-a-1'])).toEqual([true, true]);
    await runs.rememberFingerprint('fp-a', 'run-a');
    // Reading ends before any chunk is settled (a small file, or --enqueue-only with slow workers):
    // the ledger is created after markProducerDone, by a settle without dead letters.
    await runs.markProducerDone('run-a');
    await runs.markInflight('run-a', 'run-a-0');
    await runs.settle('run-a', 'run-a-0', { jobsOpen: -1, objectsAccepted: 75 }, []);
    await expectAllExpiring(p, RETENTION_MS, [
      k.run,
      k.done,
      k.enqueued,
      k.rejected,
      k.index,
      `${p}:fp:fp-a`,
    ]);
    // The last chunk brings the braze dead-letter list.
    await runs.markInflight('run-a', 'run-a-1');
    await runs.settle('run-a', 'run-a-1', { jobsOpen: -1, objectsFailed: 1, deadLetters: 1 }, [
      letter(5, 'braze'),
    ]);
    expect((await runs.get('run-a'))?.status).toBe('completed_with_errors');
    await expectAllExpiring(p, RETENTION_MS, [k.dlq]);
  });

  it('an interrupted run (never marked producer-done) gets TTLs on its sets too', async () => {
    const p = prefix();
    const runs = createRunStore(t.redis(), p, RETENTION_MS);
    await runs.create('run-i', runStart('f.csv'));
    await runs.claim('run-i', ['run-i-0', 'run-i-1', 'run-i-2']);
    await runs.stop('run-i', 'interrupted', 'stopped by signal while reading');
    await expectAllExpiring(p, RETENTION_MS, [runKeys(p, 'run-i').enqueued]);
  });

  it('after the retention period the run, its dead letters and its index entry are gone', async () => {
    const p = prefix();
    const runs = createRunStore(t.redis(), p, 1000);
    await runs.create('old', runStart('f.csv'));
    await runs.producerBatch('old', 0, {}, [{ line: 2, text: letter(2, 'rejected') }]);
    await runs.markProducerDone('old');
    expect(await runs.list()).toEqual(['old']);
    await sleep(2100);
    expect(await runs.get('old')).toBeUndefined();
    expect(await runs.countDeadLetters('old')).toBe(0);
    // Not listed although the index entry may still be there (a dead id is never offered) ...
    expect(await runs.list()).toEqual([]);
    // ... and the next run prunes it from the index.
    await runs.create('new', runStart('f.csv'));
    expect(await t.redis().zrange(runKeys(p, '').index, 0, -1)).toEqual(['new']);
    expect(await runs.list()).toEqual(['new']);
  });

  it('index entries older than the retention period are pruned when a run is created', async () => {
    const p = prefix();
    const runs = createRunStore(t.redis(), p, RETENTION_MS);
    const index = runKeys(p, '').index;
    await t.redis().zadd(index, Date.now() - 10 * 86_400_000, 'ancient');
    await t.redis().zadd(index, Date.now() - RETENTION_MS - 1, 'just-expired');
    await runs.create('fresh', runStart('f.csv'));
    expect(await t.redis().zrange(index, 0, -1)).toEqual(['fresh']);
    expect(await runs.list()).toEqual(['fresh']);
  });

  it('dlq purge deletes both dead-letter lists at once, before they expire', async () => {
    const p = prefix();
    const runs = createRunStore(t.redis(), p, RETENTION_MS);
    await runs.create('purge-me', runStart('f.csv'));
    await runs.producerBatch('purge-me', 0, {}, [{ line: 2, text: letter(2, 'rejected') }]);
    await runs.claim('purge-me', ['purge-me-0']);
    await runs.settle('purge-me', 'purge-me-0', { jobsOpen: -1, deadLetters: 1 }, [letter(4, 'braze')]);
    expect(await runs.countDeadLetters('purge-me')).toBe(2);
    await runs.purgeDeadLetters('purge-me');
    expect(await runs.countDeadLetters('purge-me')).toBe(0);
    const k = runKeys(p, 'purge-me');
    expect(await t.redis().exists(k.dlq, k.rejected)).toBe(0);
  });
});

describe('retention: BullMQ failed jobs', () => {
  it('removeOnFail age is the retention period in seconds (default 14 days)', () => {
    expect(trackJobOptions(RETENTION_MS).removeOnFail).toEqual({ age: 5 });
    expect(trackJobOptions(1500).removeOnFail).toEqual({ age: 2 });
    const config = loadConfig({});
    expect(config.retentionMs).toBe(14 * 86_400_000);
    expect(trackJobOptions(config.retentionMs, config.retry).removeOnFail).toEqual({ age: 14 * 86_400 });
    const custom = loadConfig({ BRAZE_IMPORT_RETENTION_DAYS: '3' });
    expect(trackJobOptions(custom.retentionMs).removeOnFail).toEqual({ age: 3 * 86_400 });
    // Completed jobs hold the request body (user data): never kept.
    expect(trackJobOptions(RETENTION_MS).removeOnComplete).toBe(true);
  });
});
