import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { GateSettings } from './limiter.js';

/**
 * KEYS: the gate's key. ARGV: mode, max, spanMs, then per mode:
 *   'take'      hand out the next send time: the latest of now, the previous time, and the time `max`
 *               places back plus the span. Returns {time, now, place}. A time more than a span away
 *               is not handed out (place -1): the caller comes back later, so a worker that stops
 *               leaves at most a span of booked times behind.
 *   'hold', ms  a 429: no time before now + ms.
 * Times are Redis's clock in ms. The key is one string of 8-byte doubles: the count handed out, the
 * newest time, then the last `max` times by place (8 bytes a place: 24 KB for 3,000, 2 MB for
 * 250,000 an hour). It expires once its newest time is a span old: nothing in it matters then.
 */
const GATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local max = tonumber(ARGV[2])
local span = tonumber(ARGV[3])
local function get(i)
  local b = redis.call('GETRANGE', KEYS[1], i * 8, i * 8 + 7)
  if #b < 8 then return 0 end
  return struct.unpack('>d', b)
end
local function put(i, v) redis.call('SETRANGE', KEYS[1], i * 8, struct.pack('>d', v)) end
local function keep(at) redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(at - now, 0) + span + 1000)) end
local at = math.max(now, get(1))
if mode == 'hold' then
  at = math.max(at, now + tonumber(ARGV[4]))
  put(1, at)
  keep(at)
  return 0
end
local n = get(0)
local place = n % max
local old = get(2 + place)
if old > 0 then at = math.max(at, old + span) end
if at - now > span then return {at, now, -1} end
put(0, n + 1)
put(1, at)
put(2 + place, at)
keep(at)
return {at, now, place}
`;

interface GateScript {
  brazeGate(
    key: string,
    mode: string,
    max: number,
    spanMs: number,
    ...args: (string | number)[]
  ): Promise<unknown>;
}

/** A send time handed out by the gate (Redis clock, ms since the epoch). */
export interface Slot {
  time: number;
  /** Redis's clock when it was handed out. */
  now: number;
  /** Its place in the ring; -1: not handed out, too far ahead (come back at time - span). */
  place: number;
  /** The earliest it can be due by this process's clock (performance.now()), if waited for with pass(). */
  due?: number;
}

/**
 * How late a request may leave and still use its time. Lateness is judged from when the time was
 * asked for, so it includes the round trips to Redis; with what the network adds, it must stay
 * within the slack (100 ms) that the span leaves over Braze's window.
 */
export const LATE_MS = 50;

export interface RateGate {
  /** Takes the next send time, unless it is more than a span away. */
  take(): Promise<Slot>;
  /** Takes the next send time (coming back while it is too far ahead) and waits for it. */
  pass(signal?: AbortSignal): Promise<Slot>;
  /**
   * Whether a request holding this time may leave now. One that is later than LATE_MS (a stalled
   * event loop, a slow Redis) must take a new time: leaving late would crowd the window of the
   * request `max` places on, which may already have its time.
   */
  onTime(slot: Slot): boolean;
  /** Braze said wait (a 429): no send time before `ms` from now. */
  holdOff(ms: number): Promise<void>;
}

/**
 * The Redis edge of the send-rate rule in limiter.ts, for one rate group: every run sending to one
 * destination (by default) shares it, whatever process sends. The key names the settings: workers
 * that disagree about the limit would not share a ring, so every worker of a group needs the same one.
 */
export function createRateGate(redis: Redis, prefix: string, group: string, g: GateSettings): RateGate {
  const r = redis as Redis & Partial<GateScript>;
  if (!r.brazeGate) r.defineCommand('brazeGate', { numberOfKeys: 1, lua: GATE });
  const lua = r as Redis & GateScript;
  const key = `${prefix}:gate:${group}:${g.max}:${g.spanMs}`;
  const take = async (): Promise<Slot> => {
    const [time, now, place] = (await lua.brazeGate(key, 'take', g.max, g.spanMs)) as number[];
    return { time: Number(time), now: Number(now), place: Number(place) };
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
          await sleep(waitMs - g.spanMs, undefined, { signal });
          continue;
        }
        slot.due = asked + waitMs;
        if (waitMs > 0) await sleep(waitMs, undefined, { signal });
        return slot;
      }
    },
    onTime: (slot) => slot.due === undefined || performance.now() - slot.due <= LATE_MS,
    async holdOff(ms) {
      await lua.brazeGate(key, 'hold', g.max, g.spanMs, Math.max(1, Math.ceil(ms)));
    },
  };
}
