import type { Redis } from 'ioredis';
import { START_FUNCTIONS } from '../runs/scripts/start.js';
import { keptBody, runKeys, withBody } from '../runs/store.js';
import { GATE_FUNCTIONS, PLAIN, type RateGate, type Slot, type TakeClass } from './gate.js';

/**
 * The check before a request and the send gate's take, in one call: a request costs one round trip
 * to Redis before it leaves instead of two. KEYS: the run's keys (done, inflight, maybe, lanes,
 * waiters, deadusers), then the gate's (gate.ts: state, rings, share ring, sync flag, history,
 * bounds). ARGV: jobId (the
 * chunk's), ttlSeconds, lane, needs, defaultSlack, class, share (gate.ts: TakeClass), waiter (the
 * queued job to wake if it must wait: the chunk's own, or its group's), then the limits' (max,
 * windowMs) pairs. Returns:
 *   {-1} settled, {-2} blocked (see start_check): no send time is taken;
 *   {-3, time, now, slack}: the next time is beyond the horizon: nothing taken, come back;
 *   {mark, time, now, place, slack, dead}: a time taken and the request marked in flight.
 * The request body kept for the job comes with it, read beside the call (withBody).
 */
const TAKE = `${START_FUNCTIONS}${GATE_FUNCTIONS}
local k = run_keys(1)
local c = start_check(k, ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[8])
if c < 0 then return {c} end
local now = gate_now()
local g = gate_open(KEYS[7], 8, 9, ARGV[5])
local t = gate_take_as(g, now, ARGV[6], tonumber(ARGV[7]))
if t[3] < 0 then return {-3, t[1], t[2], t[4]} end
local m = start_mark(k, ARGV[1], ARGV[2])
return {m, t[1], t[2], t[3], t[4], start_extras(k)}
`;

export type Taken =
  | { kind: 'settled' }
  | { kind: 'blocked' }
  | { kind: 'later'; time: number; now: number; slackMs: number }
  | { kind: 'go'; again: boolean; slot: Slot; deadUsers: boolean; body: Buffer | undefined };

interface TakeScript {
  brazeTake(...args: (string | number)[]): Promise<unknown>;
}

export type Taker = (
  runId: string,
  jobId: string,
  lane: number,
  needs: number,
  cls?: TakeClass,
  /** The queued job to wake when the chunk must wait for its lane (default: jobId). */
  waiter?: string,
  /**
   * Read the body in the same round trip (default). False after a 'later': a chunk waiting for its
   * share of the limit may ask many times, and the body is then read only once it may go.
   */
  bodyAlong?: boolean,
) => Promise<Taken>;

export function createTaker(redis: Redis, prefix: string, ttlSeconds: number, gate: RateGate): Taker {
  const r = redis as Redis & Partial<TakeScript>;
  if (!r.brazeTake) r.defineCommand('brazeTake', { lua: TAKE });
  const lua = r as Redis & TakeScript;
  const { keys: gateKeys, limits, defaultSlackMs } = gate.script;
  return async (runId, jobId, lane, needs, cls = PLAIN, waiter = jobId, bodyAlong = true) => {
    const k = runKeys(prefix, runId);
    const keys = [k.done, k.inflight, k.maybe, k.lanes, k.waiters, k.deadusers, ...gateKeys];
    const take = lua.brazeTake(
      keys.length,
      ...keys,
      jobId,
      ttlSeconds,
      lane,
      needs,
      defaultSlackMs,
      cls.kind,
      cls.share ?? 1,
      waiter,
      ...limits,
    ) as Promise<number[]>;
    const [reply, along] = bodyAlong ? await withBody(r, k.bodies, jobId, take) : [await take, undefined];
    const n = (i: number) => Number(reply[i]);
    const mark = n(0);
    if (mark === -1) return { kind: 'settled' };
    if (mark === -2) return { kind: 'blocked' };
    if (mark === -3) return { kind: 'later', time: n(1), now: n(2), slackMs: n(3) };
    const body = bodyAlong ? along : await keptBody(r, k.bodies, jobId);
    return {
      kind: 'go',
      again: mark === 1,
      slot: { time: n(1), now: n(2), place: n(3), slackMs: n(4) },
      deadUsers: n(5) === 1,
      body,
    };
  };
}
