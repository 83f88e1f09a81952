import { describe, expect, it } from 'vitest';
import { createRunStore } from '../../src/runs/store.js';
import { runStart } from '../helpers/factories.js';
import { useTestRedis } from '../helpers/redis.js';

const t = useTestRedis('store');
const store = () => createRunStore(t.redis(), t.prefix(), 60_000);

describe('run store: before a request', () => {
  it('says first, then again while an earlier attempt is unanswered, and first after an answer', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    // A 5xx answer, then another attempt: nothing can have been delivered twice.
    expect(await runs.markInflight('r', 'r-0')).toBe('first');
    await runs.clearInflight('r', 'r-0');
    expect(await runs.markInflight('r', 'r-0')).toBe('first');
  });

  it('once an attempt went unanswered, every later attempt may duplicate it, whatever answers come between', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    await runs.claim('r', ['r-0']);
    expect(await runs.markInflight('r', 'r-0')).toBe('first'); // a reset after Braze applied it
    expect(await runs.markInflight('r', 'r-0')).toBe('again'); // answered 500
    await runs.clearInflight('r', 'r-0');
    expect(await runs.markInflight('r', 'r-0')).toBe('again'); // answered 429
    await runs.clearInflight('r', 'r-0');
    expect(await runs.markInflight('r', 'r-0')).toBe('again'); // answered 201
    expect(await runs.settle('r', 'r-0', { jobsOpen: -1, objectsAccepted: 75 }, [])).toBe(true);
    expect((await runs.get('r'))?.possibleDuplicates).toBe(1);
    // A settle delivered twice (a worker that died after it) counts nothing again.
    expect(await runs.settle('r', 'r-0', { jobsOpen: -1, objectsAccepted: 75 }, [])).toBe(false);
    expect(await runs.get('r')).toMatchObject({ possibleDuplicates: 1, objectsAccepted: 75 });
  });

  it('says settled for a chunk whose outcome is recorded, so a re-enqueued copy is never sent', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    expect(await runs.claim('r', ['r-0'])).toEqual([true]);
    expect(await runs.markInflight('r', 'r-0')).toBe('first');
    expect(await runs.settle('r', 'r-0', { jobsOpen: -1, objectsAccepted: 75 }, [])).toBe(true);
    // A resumed run claimed the chunk before the settle and re-added it after the first copy left.
    expect(await runs.markInflight('r', 'r-0')).toBe('settled');
    expect(await runs.isSettled('r', 'r-0')).toBe(true);
    expect((await runs.get('r'))?.objectsAccepted).toBe(75);
  });
});
