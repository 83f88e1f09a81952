import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RateLimit } from '../../schemas/config.js';
import {
  DEFAULT_SLACK_MS,
  exhaustedAt,
  horizonMs,
  lateMs,
  MAX_SLACK_MS,
  normalizeLimits,
} from './limiter.js';

/**
 * The rule of limiter.ts in Redis, for one rate group. KEYS: the group's state (a hash with named
 * fields: `n` requests handed out, `last` the latest time, `hold` no time before it, `slack` the
 * group's slack), then one ring per limit (a string of 8-byte doubles: the last `max` times, by place
 * n % max). ARGV: mode, now-or-0, defaultSlack, maxSlack, then per mode, then the limits as
 * (max, windowMs) pairs, shortest window first.
 *   'take'             -> {time, now, place, slack}; place -1: beyond the horizon (come back).
 *   'hold', ms, widen  -> no time before now + ms; widen = 1 doubles the slack (a 429).
 *   'remaining', r, ms, threshold -> Braze's count: at or below the threshold, hold for ms.
 * Times are Redis's clock in ms. The slack is the larger of the stored one and the caller's default,
 * so processes of a rolling upgrade with different defaults still share one gate and the stricter
 * slack. Every key expires once nothing in it matters (its newest time a horizon and a window old).
 */
const GATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local slack = math.max(tonumber(redis.call('HGET', KEYS[1], 'slack') or '0'), tonumber(ARGV[3]))
local function field(name) return tonumber(redis.call('HGET', KEYS[1], name) or '0') end
local function keep(at, longest)
  local ms = string.format('%.0f', math.max(at - now, 0) + longest + slack + 1000)
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ms) end
end
local first = 5
if mode == 'hold' then first = 7 elseif mode == 'remaining' then first = 8 end
local limits = {}
local longest = 0
for i = first, #ARGV, 2 do
  local w = tonumber(ARGV[i + 1])
  limits[#limits + 1] = {max = tonumber(ARGV[i]), window = w}
  if w > longest then longest = w end
end
local function slot(key, i)
  local b = redis.call('GETRANGE', key, i * 8, i * 8 + 7)
  if #b < 8 then return 0 end
  return struct.unpack('>d', b)
end
local hold = field('hold')
if mode == 'hold' then
  hold = math.max(hold, now + tonumber(ARGV[5]))
  if ARGV[6] == '1' then slack = math.min(tonumber(ARGV[4]), math.max(slack, 1) * 2) end
  redis.call('HSET', KEYS[1], 'hold', hold, 'slack', slack)
  keep(hold, longest)
  return {hold, now, slack}
end
if mode == 'remaining' then
  if tonumber(ARGV[5]) <= tonumber(ARGV[7]) then
    hold = math.max(hold, now + tonumber(ARGV[6]))
    redis.call('HSET', KEYS[1], 'hold', hold)
    keep(hold, longest)
  end
  return {hold, now, slack}
end
local n = field('n')
local at = math.max(now, field('last'), hold)
for i, l in ipairs(limits) do
  if n >= l.max then at = math.max(at, slot(KEYS[1 + i], n % l.max) + l.window + slack) end
end
if at - now > limits[1].window + slack then return {at, now, -1, slack} end
for i, l in ipairs(limits) do redis.call('SETRANGE', KEYS[1 + i], (n % l.max) * 8, struct.pack('>d', at)) end
redis.call('HSET', KEYS[1], 'n', n + 1, 'last', at, 'slack', slack)
keep(at, longest)
return {at, now, n, slack}
`;

interface GateScript {
  brazeGate(...args: (string | number)[]): Promise<unknown>;
}

/** A send time handed out by the gate (Redis clock, ms since the epoch). */
export interface Slot {
  time: number;
  /** Redis's clock when it was handed out. */
  now: number;
  /** Its place (the requests handed out before it); -1: not handed out, beyond the horizon. */
  place: number;
  /** The group's slack when it was handed out: how late it may leave follows from it. */
  slackMs: number;
  /** The earliest it can be due by this process's clock (performance.now()), if waited for with pass(). */
  due?: number;
}

export interface RateGate {
  /** Takes the next send time, unless it is beyond the horizon. */
  take(): Promise<Slot>;
  /** Takes the next send time (coming back while it is too far ahead) and waits for it. */
  pass(signal?: AbortSignal): Promise<Slot>;
  /**
   * Whether a request holding this time may leave now. One later than lateMs(slack) (a stalled event
   * loop, a slow Redis) must take a new time: leaving late would crowd the window of the request
   * `max` places on, which may already have its time.
   */
  onTime(slot: Slot): boolean;
  /** Braze said wait (a 429): no send time before `ms` from now, and a wider slack from now on. */
  holdOff(ms: number): Promise<void>;
  /** Braze's X-RateLimit-Remaining/Reset: when its count runs ahead of ours, wait for its reset. */
  remaining(remaining: number, resetMs: number, limitMax: number): Promise<void>;
}

/**
 * The gate of one rate group (by default one per destination: BRAZE_RATE_GROUP names one that
 * several destinations share, e.g. the workspaces of one company, whose burst limit Braze enforces
 * per company). Every process sending for the group shares it, whatever run it sends.
 */
export function createRateGate(
  redis: Redis,
  prefix: string,
  group: string,
  limits: readonly RateLimit[],
  defaultSlackMs = DEFAULT_SLACK_MS,
): RateGate {
  const r = redis as Redis & Partial<GateScript>;
  if (!r.brazeGate) r.defineCommand('brazeGate', { lua: GATE });
  const lua = r as Redis & GateScript;
  const sorted = normalizeLimits(limits);
  const base = `${prefix}:gate:${group}`;
  const keys = [base, ...sorted.map((l) => `${base}:ring:${l.max}:${l.windowMs}`)];
  const pairs = sorted.flatMap((l) => [l.max, l.windowMs]);
  const call = (mode: string, ...args: (string | number)[]) =>
    lua.brazeGate(keys.length, ...keys, mode, 0, defaultSlackMs, MAX_SLACK_MS, ...args, ...pairs);
  const take = async (): Promise<Slot> => {
    const [time, now, place, slack] = (await call('take')) as number[];
    return { time: Number(time), now: Number(now), place: Number(place), slackMs: Number(slack) };
  };
  return {
    take,
    async pass(signal) {
      for (;;) {
        // Redis handed the time out somewhere between asking and hearing back. Wait from hearing
        // back (never early), but judge lateness from asking.
        const asked = performance.now();
        const slot = await take();
        const waitMs = Math.max(0, slot.time - slot.now);
        if (slot.place < 0) {
          await sleep(waitMs - horizonMs(sorted, slot.slackMs), undefined, { signal });
          continue;
        }
        slot.due = asked + waitMs;
        if (waitMs > 0) await sleep(waitMs, undefined, { signal });
        return slot;
      }
    },
    onTime: (slot) => slot.due === undefined || performance.now() - slot.due <= lateMs(slot.slackMs),
    async holdOff(ms) {
      await call('hold', Math.max(1, Math.ceil(ms)), 1);
    },
    async remaining(remaining, resetMs, limitMax) {
      if (remaining > exhaustedAt(limitMax)) return;
      await call('remaining', remaining, Math.max(1, Math.ceil(resetMs)), exhaustedAt(limitMax));
    },
  };
}
