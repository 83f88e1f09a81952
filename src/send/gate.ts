import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { GateSettings } from './limiter.js';

/**
 * KEYS: the gate's key. ARGV: mode, max, spanMs, then per mode:
 *   'take'           hand out the next send time: the latest of now, the previous time, and the
 *                    time `max` places back plus the span. Returns {time, now, place}.
 *   'left', place, t the request given time t left now: if place still holds t, it holds now
 *                    instead, so a request that left late pushes back the one `max` places on.
 *   'hold', ms       a 429: no time before now + ms.
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
if mode == 'left' then
  local place = tonumber(ARGV[4])
  local was = tonumber(ARGV[5])
  if get(2 + place) == was and was < now then
    put(2 + place, now)
    keep(now)
  end
  return 0
end
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
  place: number;
  /** The earliest it can be due by this process's clock (performance.now()), if waited for with pass(). */
  due?: number;
}

/** A request that leaves this much after its time tells the gate; one on time saves the call. */
const LATE_MS = 10;

export interface RateGate {
  /** Takes the next send time. */
  take(): Promise<Slot>;
  /** Takes the next send time and waits for it. */
  pass(signal?: AbortSignal): Promise<Slot>;
  /**
   * The request is leaving now: if that is late (a stalled event loop), the gate records when, so the
   * request `max` places on keeps its distance. Not awaited: it goes out on the connection ahead of
   * the commands that follow; a failure only means a late request did not push a later one back.
   */
  leaving(slot: Slot): void;
  /** Braze said wait (a 429): no send time before `ms` from now. */
  holdOff(ms: number): Promise<void>;
}

/**
 * The Redis edge of the send-rate rule in limiter.ts. The key names the settings: workers that
 * disagree about the limit would not share a ring, so every worker of a queue needs the same one
 * (as with BullMQ's own limiter).
 */
export function createRateGate(redis: Redis, prefix: string, queue: string, g: GateSettings): RateGate {
  const r = redis as Redis & Partial<GateScript>;
  if (!r.brazeGate) r.defineCommand('brazeGate', { numberOfKeys: 1, lua: GATE });
  const lua = r as Redis & GateScript;
  const key = `${prefix}:${queue}:gate:${g.max}:${g.spanMs}`;
  const take = async (): Promise<Slot> => {
    const [time, now, place] = (await lua.brazeGate(key, 'take', g.max, g.spanMs)) as number[];
    return { time: Number(time), now: Number(now), place: Number(place) };
  };
  return {
    take,
    async pass(signal) {
      // Redis handed the time out somewhere between asking and hearing back. Wait from hearing back
      // (never early), but judge lateness from asking: a reply that sat on a busy event loop makes
      // the request late, and the gate hears of it.
      const asked = performance.now();
      const slot = await take();
      const waitMs = Math.max(0, slot.time - slot.now);
      slot.due = asked + waitMs;
      if (waitMs > 0) await sleep(waitMs, undefined, { signal });
      return slot;
    },
    leaving(slot) {
      if (slot.due !== undefined && performance.now() - slot.due < LATE_MS) return;
      lua.brazeGate(key, 'left', g.max, g.spanMs, slot.place, slot.time).catch(() => undefined);
    },
    async holdOff(ms) {
      await lua.brazeGate(key, 'hold', g.max, g.spanMs, Math.max(1, Math.ceil(ms)));
    },
  };
}
