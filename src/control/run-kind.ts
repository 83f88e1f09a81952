import type { Redis } from 'ioredis';
import { runKeys } from '../runs/store.js';

/**
 * What started a run: `run` (an import from the CLI), `replay` (of another run's dead letters),
 * `sync` and `backfill` (scheduled; issue 13). Dashboards and metrics group runs by it, never by id.
 */
export const RUN_KINDS = ['run', 'replay', 'sync', 'backfill'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

const isKind = (v: unknown): v is RunKind =>
  typeof v === 'string' && (RUN_KINDS as readonly string[]).includes(v);

/**
 * The kind of a run from its record: the `kind` field when it holds a known kind; otherwise a replay
 * when it replays another run; otherwise a plain run (records written before kinds existed).
 */
export function kindOf(run: { kind?: string | undefined; replayOf?: string | undefined }): RunKind {
  if (isKind(run.kind)) return run.kind;
  return run.replayOf ? 'replay' : 'run';
}

/** A run's kind read from Redis (for a sender that knows only the run id). */
export async function readRunKind(redis: Redis, prefix: string, runId: string): Promise<RunKind> {
  const [kind, replayOf] = await redis.hmget(runKeys(prefix, runId).run, 'kind', 'replayOf');
  return kindOf({ kind: kind ?? undefined, replayOf: replayOf ?? undefined });
}
