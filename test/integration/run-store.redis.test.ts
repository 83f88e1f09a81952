import { describe, expect, it } from 'vitest';
import { createRunStore } from '../../src/runs/store.js';
import { createRateGate } from '../../src/send/gate.js';
import { createTaker } from '../../src/send/take.js';
import { runStart } from '../helpers/factories.js';
import { useTestRedis } from '../helpers/redis.js';

const t = useTestRedis('store');
const store = () => createRunStore(t.redis(), t.prefix(), 60_000);

describe('run store: before a request', () => {
  it('says first, then again while an earlier attempt is unanswered, and first after an answer', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    // A 5xx answer, then another attempt: nothing can have been delivered twice.
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('first');
    await runs.clearInflight('r', 'r-0');
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('first');
  });

  it('once an attempt went unanswered, every later attempt may duplicate it, whatever answers come between', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    await runs.claim('r', ['r-0']);
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('first'); // a reset after Braze applied it
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('again'); // answered 500
    await runs.clearInflight('r', 'r-0');
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('again'); // answered 429
    await runs.clearInflight('r', 'r-0');
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('again'); // answered 201
    expect((await runs.settle('r', 'r-0', { jobsOpen: -1, objectsAccepted: 75 }, [])).counted).toBe(true);
    expect((await runs.get('r'))?.possibleDuplicates).toBe(1);
    // A settle delivered twice (a worker that died after it) counts nothing again.
    expect((await runs.settle('r', 'r-0', { jobsOpen: -1, objectsAccepted: 75 }, [])).counted).toBe(false);
    expect(await runs.get('r')).toMatchObject({ possibleDuplicates: 1, objectsAccepted: 75 });
  });

  it('hands back the body kept beside the job, byte for byte, until the chunk is settled', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    // Bytes that are no text (NUL, 0xFF, CR LF) and UTF-8: read beside the script, the body comes back as stored.
    const bytes = Buffer.concat([
      Buffer.from('{"attributes":[{"external_id":"é"}]}'),
      Buffer.from([0, 255, 13, 10]),
    ]);
    await runs.storeBodies('r', [{ jobId: 'r-0', body: bytes }]);
    const started = await runs.markInflight('r', 'r-0');
    expect(started.mark).toBe('first');
    expect(started.body?.equals(bytes)).toBe(true);
    // A job of an older version keeps its body in the job: none is found beside it.
    expect((await runs.markInflight('r', 'r-1')).body).toBeUndefined();
    await runs.settle('r', 'r-0', { jobsOpen: -1 }, []);
    const again = await runs.markInflight('r', 'r-0');
    expect(again.mark).toBe('settled');
    expect(again.body).toBeUndefined();
  });

  it("the sender's take hands back the kept body, read with the call or, after a 'later', once it may go", async () => {
    const prefix = t.prefix();
    const runs = createRunStore(t.redis(), prefix, 60_000);
    await runs.create('r', runStart('f.csv'));
    const bytes = Buffer.from('{"attributes":[{"external_id":"u1","n":1}]}');
    await runs.storeBodies('r', [
      { jobId: 'r-0', body: bytes },
      { jobId: 'r-1', body: bytes },
    ]);
    const gate = createRateGate(t.redis(), prefix, 'g', [{ max: 10, windowMs: 3000 }]);
    const take = createTaker(t.redis(), prefix, 60, gate);
    const along = await take('r', 'r-0', 0, -1);
    expect(along.kind === 'go' && along.body?.equals(bytes)).toBe(true);
    const after = await take('r', 'r-1', 0, -1, undefined, undefined, false);
    expect(after.kind === 'go' && after.body?.equals(bytes)).toBe(true);
    // A chunk whose outcome is recorded is not sent, whichever way its body would be read.
    await runs.settle('r', 'r-1', { jobsOpen: -1 }, []);
    expect((await take('r', 'r-1', 0, -1, undefined, undefined, false)).kind).toBe('settled');
  });

  it('says settled for a chunk whose outcome is recorded, so a re-enqueued copy is never sent', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    expect(await runs.claim('r', ['r-0'])).toEqual([true]);
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('first');
    expect((await runs.settle('r', 'r-0', { jobsOpen: -1, objectsAccepted: 75 }, [])).counted).toBe(true);
    // A resumed run claimed the chunk before the settle and re-added it after the first copy left.
    expect((await runs.markInflight('r', 'r-0')).mark).toBe('settled');
    expect(await runs.isSettled('r', 'r-0')).toBe(true);
    expect((await runs.get('r'))?.objectsAccepted).toBe(75);
  });
});

describe('run store: lanes', () => {
  const place = (seq: number, needs: number) => ({ lane: 3, seq, needs });
  it('a chunk waits until its lane has finished what it needs; the settle that gets there names it', async () => {
    const runs = store();
    await runs.create('r', runStart('f.csv'));
    // seq 2 needs seq 0 and 1 finished (a user in seq 1).
    expect((await runs.markInflight('r', 'r-2', place(2, 1))).mark).toBe('blocked');
    expect(await runs.laneReady('r', place(2, 1))).toBe(false);
    // seq 1 finishes first: beyond the mark, nothing moves yet.
    expect(await runs.settle('r', 'r-1', { jobsOpen: -1 }, [], { ...place(1, -1), finished: true })).toEqual({
      counted: true,
      ready: [],
    });
    // A part of seq 0 that has more to come does not finish it.
    expect(
      (await runs.settle('r', 'r-0', { jobsOpen: -1 }, [], { ...place(0, -1), finished: false })).ready,
    ).toEqual([]);
    // Its last part does: the lane moves past 0 and 1 at once, and the waiting chunk is named.
    expect(
      await runs.settle('r', 'r-0.1', { jobsOpen: -1 }, [], { ...place(0, -1), finished: true }),
    ).toEqual({
      counted: true,
      ready: ['r-2'],
    });
    expect(await runs.laneReady('r', place(2, 1))).toBe(true);
    expect((await runs.markInflight('r', 'r-2', place(2, 1))).mark).toBe('first');
  });
});
