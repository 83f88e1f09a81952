import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/chunk/index.js';
import { loadConfig } from '../../src/config.js';
import { inputChunker } from '../../src/import/input.js';
import { MAX_IN_FLIGHT } from '../../src/send/sender.js';
import { makeUserRecord } from '../helpers/factories.js';

/**
 * The default lanes and their window must let a sending process fill its in-flight cap: a run whose
 * users do not repeat, against a far Braze, is otherwise held by its lanes rather than by the rate
 * limit (with 16 x 17 under way and answers in 300 +/- 100 ms, a run got 0.44 of 3,000/3 s).
 */
describe('default lanes against the in-flight cap', () => {
  const config = loadConfig({});
  const { chunker } = inputChunker(config);
  const chunks: Chunk[] = [];
  for (let i = 0; i < 100_000; i++) {
    chunks.push(...chunker.push(makeUserRecord({ line: i + 2, externalId: `user-${i}` })));
  }
  chunks.push(...chunker.flush());

  /** Chunks that may leave with every chunk before `finished` (in file order) done and none after. */
  const sendable = (finishedBelow: number) => {
    const done = new Map<number, number>();
    for (const c of chunks.slice(0, finishedBelow)) done.set(c.lane, Math.max(done.get(c.lane) ?? -1, c.seq));
    return chunks.slice(finishedBelow).filter((c) => c.needs <= (done.get(c.lane) ?? -1)).length;
  };

  it('lets more chunks than MAX_IN_FLIGHT be under way before any has finished', () => {
    expect(chunks.length).toBeGreaterThan(2 * MAX_IN_FLIGHT);
    expect(sendable(0)).toBeGreaterThan(MAX_IN_FLIGHT);
  });

  it('and again once the first few hundred have finished in file order', () => {
    expect(sendable(300)).toBeGreaterThan(MAX_IN_FLIGHT);
  });
});
