import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RateLimit } from '../../schemas/config.js';
import {
  answersForEstimate,
  DEFAULT_SLACK_MS,
  DENSE_MS,
  exhaustedAt,
  HEARD_MARGIN_MS,
  horizonMs,
  JITTER_EPOCH_MS,
  jitterLookMs,
  lateMs,
  MAX_SLACK_MS,
  normalizeLimits,
  RETIME_MS,
  SLACK_OVER_JITTER_MS,
  SLACK_PER_JITTER,
  worthObserving,
} from './limiter.js';

/**
 * The rule of limiter.ts in Redis, for one rate group: the group's state is a hash with named fields
 * (`n` requests handed out, `last` the latest time, `hold` no time before it, `slack` a 429's floor,
 * `jit` the jitter estimate, and its epoch: `emax`, `ecount`, `efrom`), each limit has a ring (a
 * string of 8-byte doubles: the last `max` times, by place n % max) and a ring of the same places'
 * bounds ((place, guess, heard) triples of doubles: a re-timed request's guess, 0 for its time plus the
 * slack; the moment the gate heard it was answered, or its time if it never left, 0 until then:
 * limiter.ts boundOf), and the burst limit a history of the last 2 max (place, time) pairs
 * that Braze's counts are checked against (limiter.ts observe). An older version keeps no bounds: a
 * place it took is bounded by its time plus the slack, the rule it keeps itself.
 * Times are Redis's clock in ms. The caller's slack is the start value; a stored `slack` above it is
 * a 429's widening, by this version or an older one (which keeps its slack there and reads it as the
 * larger of it and its own), so processes of a rolling upgrade share one gate and an older process
 * never uses less slack than it did. Every key expires once nothing in it matters (its newest time a
 * horizon and a window old).
 *
 * As Lua functions over `g` ({state, rings, limits shortest window first, slack}), so the sender can
 * run a take together with the check before a request in one call (src/send/take.ts).
 */
export const GATE_FUNCTIONS = `
local function gate_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function gate_learned(jit, spread)
  return math.min(${MAX_SLACK_MS}, math.ceil(math.max(${SLACK_PER_JITTER} * jit, spread)) + ${SLACK_OVER_JITTER_MS})
end
local function gate_slack(g)
  local s = g.start
  if g.jit >= 0 then s = math.min(g.start, gate_learned(g.jit, g.spread)) end
  g.slack = math.max(g.floor, s)
end
local function gate_open(stateKey, ringOffset, limitOffset, defaultSlack)
  local g = {state = stateKey, rings = {}, limits = {}, longest = 0}
  local i = 0
  while ARGV[limitOffset + 2 * i] do
    local w = tonumber(ARGV[limitOffset + 2 * i + 1])
    g.limits[i + 1] = {max = tonumber(ARGV[limitOffset + 2 * i]), window = w}
    g.rings[i + 1] = KEYS[ringOffset + i]
    if w > g.longest then g.longest = w end
    i = i + 1
  end
  g.shareRing = KEYS[ringOffset + i]
  g.syncing = KEYS[ringOffset + i + 1]
  g.hist = KEYS[ringOffset + i + 2]
  g.bounds = {}
  for j = 1, i do g.bounds[j] = KEYS[ringOffset + i + 2 + j] end
  local f = redis.call('HMGET', stateKey, 'slack', 'jit', 'spread')
  g.start = tonumber(defaultSlack)
  g.floor = tonumber(f[1] or '0')
  if g.floor <= g.start then g.floor = 0 end
  g.jit = tonumber(f[2] or '-1')
  g.spread = tonumber(f[3] or '-1')
  gate_slack(g)
  return g
end
local function gate_field(g, name) return tonumber(redis.call('HGET', g.state, name) or '0') end
local function gate_keep(g, at, now)
  local ms = string.format('%.0f', math.max(at - now, 0) + g.longest + g.slack + 1000)
  redis.call('PEXPIRE', g.state, ms)
  redis.call('PEXPIRE', g.hist, ms)
  for _, key in ipairs(g.rings) do redis.call('PEXPIRE', key, ms) end
  for _, key in ipairs(g.bounds) do redis.call('PEXPIRE', key, ms) end
end
local function gate_slot(key, i)
  local b = redis.call('GETRANGE', key, i * 8, i * 8 + 7)
  if #b < 8 then return 0 end
  return struct.unpack('>d', b)
end
-- Place p's entry in limit i's ring of bounds: (place, guess, heard) where guess 0 is its time plus the
-- slack, else a re-timed request's guess, and heard 0 is nothing heard yet (limiter.ts GateState).
-- nil when the slot holds another place (one an older version took, which keeps no bounds).
local function gate_entry(g, i, p)
  local at = (p % g.limits[i].max) * 24
  local b = redis.call('GETRANGE', g.bounds[i], at, at + 23)
  if #b < 24 then return nil end
  local q, guess, heard = struct.unpack('>ddd', b)
  if q ~= p then return nil end
  return guess, heard
end
local function gate_put(g, i, p, guess, heard)
  redis.call('SETRANGE', g.bounds[i], (p % g.limits[i].max) * 24, struct.pack('>ddd', p, guess, heard))
end
-- The bound of place p for limit i (limiter.ts boundOf): what was heard, else its guess; and true when
-- an older version took it.
local function gate_bound(g, i, p)
  local guess, heard = gate_entry(g, i, p)
  local older = guess == nil
  if not older and heard > 0 then return heard, false end
  if older or guess == 0 then guess = gate_slot(g.rings[i], p % g.limits[i].max) + g.slack end
  return guess, older
end
local function gate_take(g, now)
  local n = gate_field(g, 'n')
  local at = math.max(now, gate_field(g, 'last'), gate_field(g, 'hold'))
  for i, l in ipairs(g.limits) do
    if n >= l.max then
      local b, older = gate_bound(g, i, n - l.max)
      at = math.max(at, b + l.window)
      -- A place an older version took (it keeps no bounds, and guesses every request on time): no
      -- request of this one is re-timed while such places can still be in a window.
      if older and i == 1 then redis.call('HSET', g.state, 'older', now + 2 * (l.window + g.slack)) end
    end
  end
  if at - now > g.limits[1].window + g.slack then return {at, now, -1, g.slack} end
  for i, l in ipairs(g.limits) do
    redis.call('SETRANGE', g.rings[i], (n % l.max) * 8, struct.pack('>d', at))
    gate_put(g, i, n, 0, 0)
  end
  redis.call('SETRANGE', g.hist, (n % (2 * g.limits[1].max)) * 16, struct.pack('>dd', n, at))
  redis.call('HSET', g.state, 'n', n + 1, 'last', at)
  gate_keep(g, at, now)
  return {at, now, n, g.slack}
end
-- A take by a run of a class: 'sync' says a sync is sending (for two burst windows); 'backfill', while
-- one is, keeps to \`share\` of the burst limit (its own ring of floor(share * max) times) and, when that
-- is spent, is told to come back when it frees (a time one horizon past it: place -1).
local function gate_take_as(g, now, class, share)
  local l = g.limits[1]
  if class == 'sync' then
    redis.call('SET', g.syncing, '1', 'PX', string.format('%.0f', 2 * l.window + g.slack))
  elseif class == 'backfill' and share < 1 and redis.call('EXISTS', g.syncing) == 1 then
    local m = math.max(1, math.floor(l.max * share))
    local nb = gate_field(g, 'bn')
    if nb >= m then
      local ready = gate_slot(g.shareRing, nb % m) + l.window + g.slack
      if ready > now then return {ready + l.window + g.slack, now, -1, g.slack} end
    end
    local t = gate_take(g, now)
    if t[3] >= 0 then
      redis.call('SETRANGE', g.shareRing, (nb % m) * 8, struct.pack('>d', t[1]))
      redis.call('HSET', g.state, 'bn', nb + 1)
      redis.call('PEXPIRE', g.shareRing, string.format('%.0f', math.max(t[1] - now, 0) + g.longest + g.slack + 1000))
    end
    return t
  end
  return gate_take(g, now)
end
-- Place p's (guess, heard) in limit i's ring of bounds while they are still the request's that was
-- handed out at time: its ring still keeps the place (p in [n - max, n)) with that time (after the gate
-- expired and began again, the same place is another request's); nil otherwise.
local function gate_held(g, i, p, time, n)
  local max = g.limits[i].max
  if p < 0 or p >= n or p < n - max or gate_slot(g.rings[i], p % max) ~= time then return nil end
  return gate_entry(g, i, p)
end
-- Answers heard of (limiter.ts settleBound): ARGV from offset, m (place, time) pairs; a place p >= 0
-- was answered (heard: now), -p - 1 never left (heard: its own time). Only the first word counts, and
-- only while the place is still that request's (gate_held).
local function gate_settle(g, now, offset, m)
  local n = gate_field(g, 'n')
  for k = 0, m - 1 do
    local p, time = tonumber(ARGV[offset + 2 * k]), tonumber(ARGV[offset + 2 * k + 1])
    local heardAt = now + ${HEARD_MARGIN_MS}
    if p < 0 then p, heardAt = -p - 1, time end
    for i in ipairs(g.limits) do
      local guess, heard = gate_held(g, i, p, time, n)
      if guess ~= nil and heard == 0 then gate_put(g, i, p, guess, heardAt) end
    end
  end
  return {n, now}
end
-- A late request asks to leave anyway (limiter.ts retime): its guess becomes now plus the slack plus
-- the allowance, unless the gate heard of it, the request a limit's max places on took its time (or
-- the place is no longer its: gate_held), an older version took places lately, or it is a backfill's
-- while a sync sends.
local function gate_late(g, now, p, time, allowance, class)
  local n = gate_field(g, 'n')
  if gate_field(g, 'older') > now then return {0, now, g.slack} end
  -- A backfill's share of the window while a sync sends rests on its times alone (gate_take_as).
  if class == 'backfill' and redis.call('EXISTS', g.syncing) == 1 then return {0, now, g.slack} end
  for i in ipairs(g.limits) do
    local guess, heard = gate_held(g, i, p, time, n)
    if guess == nil or heard > 0 then return {0, now, g.slack} end
  end
  for i in ipairs(g.limits) do gate_put(g, i, p, now + g.slack + allowance, 0) end
  return {1, now, g.slack}
end
-- The first place in [lo, hi) whose time is after x (hi when none): times rise with the place.
local function gate_first_after(ring, max, lo, hi, x)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if gate_slot(ring, mid % max) > x then hi = mid else lo = mid + 1 end
  end
  return lo
end
-- How many of ours Braze can have counted in its window of limit i by now (limiter.ts oursInWindow):
-- the times in (now - window - slack, now] among the last max handed out.
local function gate_ours(g, i, now)
  local l = g.limits[i]
  local n = gate_field(g, 'n')
  local lo = math.max(0, n - l.max)
  return gate_first_after(g.rings[i], l.max, lo, n, now)
    - gate_first_after(g.rings[i], l.max, lo, n, now - l.window - g.slack)
end
local function gate_hold(g, now, until_, widen, maxSlack)
  local hold = math.max(gate_field(g, 'hold'), until_)
  redis.call('HSET', g.state, 'hold', hold)
  if widen then
    g.floor = math.min(maxSlack, math.max(g.slack, g.start, 1) * 2)
    redis.call('HSET', g.state, 'slack', g.floor)
    gate_slack(g)
  end
  gate_keep(g, hold, now)
  return {hold, now, g.slack}
end
-- The (place, time) the history h (the key's value, read once) keeps at a place's slot: another
-- place's (overwritten, or written by a version without a history) is not this one's.
local function gate_hist(h, place, size)
  local at = (place % size) * 16
  if #h < at + 16 then return -1, 0 end
  return struct.unpack('>dd', h, at + 1)
end
-- The first place in [lo, hi) of the history whose time is after x (times rise with the place).
local function gate_hist_after(h, size, lo, hi, x)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local _, t = gate_hist(h, mid, size)
    if t > x then hi = mid else lo = mid + 1 end
  end
  return lo
end
-- Braze's counts of the burst limit in its answers, as (place, counted) pairs from ARGV[offset], and
-- the least and most time its answers took (lo, hi; -1: none): the jitter and spread estimates and
-- their epoch (limiter.ts observe, which says why).
local function gate_seen(g, now, offset, m, lo, hi, look, needed)
  local l = g.limits[1]
  local size = 2 * l.max
  local n = gate_field(g, 'n')
  local oldest = math.max(0, n - size)
  local h = redis.call('GET', g.hist) or ''
  local f = redis.call('HMGET', g.state, 'emax', 'ecount', 'efrom', 'rlo', 'rhi')
  local emax, ecount, efrom = tonumber(f[1] or '-1'), tonumber(f[2] or '0'), tonumber(f[3] or '0')
  local rlo, rhi = tonumber(f[4] or '-1'), tonumber(f[5] or '-1')
  if lo >= 0 then
    if rlo < 0 or lo < rlo then rlo = lo end
    if hi > rhi then rhi = hi end
  end
  local oldestTime = 0
  if oldest > 0 then
    local p, t = gate_hist(h, oldest, size)
    if p ~= oldest then oldest = n end
    oldestTime = t
  end
  for i = 0, m - 1 do
    local place, counted = tonumber(ARGV[offset + 2 * i]), tonumber(ARGV[offset + 2 * i + 1])
    local p, t = -1, 0
    if counted >= 1 and counted <= l.max and place >= oldest and place < n then p, t = gate_hist(h, place, size) end
    if p == place and (oldest == 0 or oldestTime <= t - l.window - look) then
      local edge = gate_hist_after(h, size, oldest, place + 1, t - l.window) - 1
      local _, te = gate_hist(h, math.max(edge, 0), size)
      if edge >= oldest and t - l.window - te <= ${DENSE_MS} then
        local function ours(x)
          return gate_hist_after(h, size, place + 1, n, t + x) - gate_hist_after(h, size, oldest, edge + 1, t - l.window - x)
        end
        local lo = math.max(emax, 0)
        local seen = true
        if ours(lo) < counted then
          if ours(look) < counted then seen = false else
            local hi = look
            while lo + 1 < hi do
              local mid = math.floor((lo + hi) / 2)
              if ours(mid) >= counted then hi = mid else lo = mid end
            end
            emax = hi
          end
        end
        if seen then
          if ecount == 0 then efrom = now end
          emax = math.max(emax, 0)
          ecount = ecount + 1
        end
      end
    end
  end
  local enough = ecount >= needed
  local spread = 0
  if rlo >= 0 then spread = rhi - rlo end
  if g.jit < 0 and enough then
    g.jit, g.spread = emax, spread
  elseif g.jit >= 0 then
    g.jit, g.spread = math.max(g.jit, emax), math.max(g.spread, spread)
  end
  if g.jit >= 0 and enough and now - efrom >= ${JITTER_EPOCH_MS} then
    g.jit, g.spread = emax, spread
    emax, ecount, efrom, rlo, rhi = -1, 0, now, -1, -1
  end
  redis.call('HSET', g.state, 'jit', g.jit, 'spread', g.spread, 'emax', emax, 'ecount', ecount, 'efrom', efrom,
    'rlo', rlo, 'rhi', rhi)
  gate_slack(g)
  gate_keep(g, gate_field(g, 'last'), now)
  return {g.jit, now, g.slack, g.spread}
end
`;

/**
 * KEYS: the group's state, one ring per limit, the backfills' ring, the sync flag, the history, and
 * one ring of bounds per limit. ARGV: mode, defaultSlack (the start value), maxSlack, then per mode,
 * then the limits as (max, windowMs) pairs, shortest first.
 *   'take', class, share -> {time, now, place, slack}; place -1: beyond the horizon (come back).
 *   'hold', ms         -> no time before now + ms, and the slack doubled (a 429).
 *   'remaining', r, ms, threshold, limitMax -> Braze's count of its limit of limitMax: at or below
 *                     the threshold, and more than ours account for (limiter.ts afterRemaining), hold
 *                     for ms. Returns {hold, now, slack, ours} (ours -1: not counted).
 *   'seen', lo, hi, look, needed, m, then m (place, counted) pairs -> Braze's counts in its answers,
 *                     the least and most ms they took (-1: none), and limiter.ts's jitterLookMs and
 *                     answersForEstimate for the burst limit (limiter.ts observe). Returns {jitter
 *                     estimate (-1: none), now, slack, spread estimate}.
 *   'settle', m, then m (place, time) pairs -> answers heard of (place p) and places that never left
 *                     (-p - 1), with the time each was handed out: their bounds (gate_settle).
 *                     Returns {places handed out, now}.
 *   'late', place, time, allowance, class -> a late request leaves anyway, or not (limiter.ts retime;
 *                     gate_late).
 *                     Returns {1: it may, 0: it must take a new time; now; slack}.
 */
const GATE = `${GATE_FUNCTIONS}
local now = gate_now()
local mode = ARGV[1]
local first = 6
if mode == 'hold' then first = 5 elseif mode == 'remaining' then first = 8
elseif mode == 'seen' then first = 9 + 2 * tonumber(ARGV[8])
elseif mode == 'settle' then first = 5 + 2 * tonumber(ARGV[4])
elseif mode == 'late' then first = 8 end
local g = gate_open(KEYS[1], 2, first, ARGV[2])
if mode == 'settle' then return gate_settle(g, now, 5, tonumber(ARGV[4])) end
if mode == 'late' then
  return gate_late(g, now, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
end
if mode == 'seen' then
  return gate_seen(g, now, 9, tonumber(ARGV[8]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
    tonumber(ARGV[7]))
end
if mode == 'hold' then return gate_hold(g, now, now + tonumber(ARGV[4]), true, tonumber(ARGV[3])) end
if mode == 'remaining' then
  local r, threshold, limitMax = tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[7])
  local ours = -1
  if r <= threshold then
    local i = 1
    for j, l in ipairs(g.limits) do if l.max == limitMax then i = j; break end end
    ours = gate_ours(g, i, now)
    if limitMax - r > ours + threshold then
      local h = gate_hold(g, now, now + tonumber(ARGV[5]), false, 0)
      return {h[1], h[2], h[3], ours}
    end
  end
  return {gate_field(g, 'hold'), now, g.slack, ours}
end
return gate_take_as(g, now, ARGV[4], tonumber(ARGV[5]))
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
  /** How much later than lateMs it may leave: re-timed (retime), RETIME_MS. */
  allowanceMs?: number;
  /**
   * The moment (performance.now()) from which it cannot leave before its time: when Redis's answer
   * came plus the wait. See waitForSlot.
   */
  notBefore?: number;
}

/**
 * Sets when a slot taken between `asked` and `heard` (performance.now()) is due and when it may leave:
 * Redis handed the time out somewhere between the two, so it is due from asking (lateness is judged
 * from there) and may leave from hearing back plus the wait (never early).
 */
export function timeSlot(slot: Slot, asked: number, heard: number): Slot {
  const waitMs = Math.max(0, slot.time - slot.now);
  slot.due = asked + waitMs;
  slot.notBefore = heard + waitMs;
  return slot;
}

/**
 * Waits until the slot may leave, checked against the clock rather than trusted to one timer: a
 * request that left before its time could share a window with the one `max` places back, which the
 * gate bounds exactly by its answer, with no slack to spare.
 */
export async function waitForSlot(slot: Slot, signal?: AbortSignal): Promise<void> {
  const until = slot.notBefore ?? performance.now() + Math.max(0, slot.time - slot.now);
  for (let left = until - performance.now(); left > 0; left = until - performance.now()) {
    await sleep(Math.ceil(left), undefined, { signal });
  }
}

export interface RemainingAnswer {
  /** No send time before this (Redis clock, ms). */
  hold: number;
  now: number;
  ours: number;
}

/**
 * Who takes: a sync (it marks the group as syncing) or a backfill that keeps to `share` (0..1] of the
 * burst limit while a sync is sending; anything else takes plainly.
 */
export interface TakeClass {
  kind: 'sync' | 'backfill' | 'run';
  share?: number;
}

export const PLAIN: TakeClass = { kind: 'run' };

export interface RateGate {
  /** What a combined call needs to run the gate's take (src/send/take.ts). */
  readonly script: {
    keys: string[];
    limits: number[];
    defaultSlackMs: number;
    horizonMs: (slack: number) => number;
  };
  /** Takes the next send time, unless it is beyond the horizon. */
  take(cls?: TakeClass): Promise<Slot>;
  /** Takes the next send time (coming back while it is too far ahead) and waits for it. */
  pass(signal?: AbortSignal, cls?: TakeClass): Promise<Slot>;
  /**
   * Whether a request holding this time may leave now. One later than lateMs(slack) (a stalled event
   * loop, a slow Redis; lateMs + RETIME_MS once re-timed) must be re-timed (retime) or take a new
   * time: leaving late on its old guess would crowd the window of the request `max` places on.
   */
  onTime(slot: Slot): boolean;
  /**
   * A request late for its time asks to leave anyway, keeping its place (limiter.ts retime): the slot
   * to leave with, due from now and RETIME_MS more lenient, or undefined: it must take a new time.
   */
  retime(slot: Slot, cls?: TakeClass): Promise<Slot | undefined>;
  /** Braze said wait (a 429): no send time before `ms` from now, and a wider slack from now on. */
  holdOff(ms: number): Promise<void>;
  /**
   * Braze's X-RateLimit-Remaining/Reset of its limit of `limitMax`: when its window is nearly spent
   * and its count runs ahead of ours, wait for its reset (limiter.ts afterRemaining). Says what the
   * gate did: `ours` is the count of ours it compared with (-1: Remaining was not low enough to ask).
   */
  remaining(remaining: number, resetMs: number, limitMax: number): Promise<RemainingAnswer>;
  /**
   * Braze's answer to the request that held `slot`: its Remaining of its limit of `limitMax`, and how
   * long after the slot's time it came (`answeredMs`). Of the burst limit, the time goes to the spread
   * estimate, and at a quarter of the limit or more, the count to the jitter estimate (limiter.ts
   * observe): a batch every SEEN_EVERY_MS, of at most SEEN_BATCH counts (a uniform sample). A tuning signal
   * only: a batch Redis does not take is dropped, and this never rejects. Resolves to the gate's
   * answer when it sent a batch.
   */
  seen(slot: Slot, remaining: number, limitMax: number, answeredMs: number): Promise<SeenAnswer | undefined>;
  /** Sends what seen() holds now; resolves to the gate's answer (undefined: nothing held). */
  flushSeen(): Promise<SeenAnswer | undefined>;
  /**
   * The request that held `slot` was answered (`left`: call it once the answer is in), or it never
   * left and never will (it takes a new time, or its run stopped): from then on the gate bounds when
   * Braze can have counted it by the moment it hears so, not by its time plus the slack (limiter.ts
   * boundOf). Sent in batches, within SETTLE_EVERY_MS; one Redis does not take is dropped (the place
   * keeps its time plus the slack), and this never throws.
   */
  settle(slot: Slot, left: boolean): void;
  /** Sends what settle() holds now; resolves to Redis's clock when it took them (undefined: none sent). */
  flushSettled(): Promise<number | undefined>;
}

export interface SeenAnswer {
  /** The group's estimates (-1: none yet) and the slack in force after the batch. */
  jitterMs: number;
  spreadMs: number;
  now: number;
  slackMs: number;
}

/** How often a process sends the counts it has seen: a few calls a second however fast it sends. */
export const SEEN_EVERY_MS = 100;
/**
 * At most this many answers a batch, a uniform sample of those seen since the last (the gate spends
 * ~25 us of Redis's CPU on each: at most ~0.8 ms a batch).
 */
export const SEEN_BATCH = 32;

/**
 * How long a settled place waits to be sent with others: its bound is the moment Redis hears of it,
 * so every ms here is a ms the request `max` places on waits. At 1,000 answers a second, about 200
 * calls of 5 places (or one as soon as SETTLE_BATCH are held).
 */
export const SETTLE_EVERY_MS = 5;
export const SETTLE_BATCH = 64;

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
  const keys = [
    base,
    ...sorted.map((l) => `${base}:ring:${l.max}:${l.windowMs}`),
    `${base}:share`,
    `${base}:syncing`,
    `${base}:history:${sorted[0]!.max}:${sorted[0]!.windowMs}`,
    ...sorted.map((l) => `${base}:bound:${l.max}:${l.windowMs}`),
  ];
  const pairs = sorted.flatMap((l) => [l.max, l.windowMs]);
  const call = (mode: string, ...args: (string | number)[]) =>
    lua.brazeGate(keys.length, ...keys, mode, defaultSlackMs, MAX_SLACK_MS, ...args, ...pairs);
  const burst = sorted[0]!;
  // Braze's counts not yet sent: (place, counted) pairs.
  let pending: number[] = [];
  let seenSince = 0;
  // The least and most ms answers took since the last batch (-1: none).
  let lo = -1;
  let hi = -1;
  let sentAt = performance.now();
  const flushSeen = async (): Promise<SeenAnswer | undefined> => {
    if (lo < 0) return undefined;
    const pairs = pending;
    const answered = [lo, hi];
    pending = [];
    seenSince = 0;
    lo = -1;
    hi = -1;
    sentAt = performance.now();
    const [jitter, now, slack, spread] = (await call(
      'seen',
      ...answered,
      jitterLookMs(burst.windowMs),
      answersForEstimate(burst.max),
      pairs.length / 2,
      ...pairs,
    )) as number[];
    return { jitterMs: Number(jitter), spreadMs: Number(spread), now: Number(now), slackMs: Number(slack) };
  };
  // Places settled and not yet sent, (place, time) pairs (answered: p; never left: -p - 1), and the
  // timer that sends them.
  let settled: number[] = [];
  let settleTimer: NodeJS.Timeout | undefined;
  const flushSettled = async (): Promise<number | undefined> => {
    if (settleTimer) clearTimeout(settleTimer);
    settleTimer = undefined;
    if (settled.length === 0) return undefined;
    const places = settled;
    settled = [];
    const reply = (await call('settle', places.length / 2, ...places).catch(() => undefined)) as
      | number[]
      | undefined;
    return reply ? Number(reply[1]) : undefined;
  };
  const take = async (cls: TakeClass = PLAIN): Promise<Slot> => {
    const [time, now, place, slack] = (await call('take', cls.kind, cls.share ?? 1)) as number[];
    return { time: Number(time), now: Number(now), place: Number(place), slackMs: Number(slack) };
  };
  return {
    script: { keys, limits: pairs, defaultSlackMs, horizonMs: (slack) => horizonMs(sorted, slack) },
    take,
    async pass(signal, cls) {
      for (;;) {
        // Redis handed the time out somewhere between asking and hearing back. Wait from hearing
        // back (never early), but judge lateness from asking.
        const asked = performance.now();
        const slot = await take(cls);
        if (slot.place < 0) {
          await sleep(slot.time - slot.now - horizonMs(sorted, slot.slackMs), undefined, { signal });
          continue;
        }
        await waitForSlot(timeSlot(slot, asked, performance.now()), signal);
        return slot;
      }
    },
    onTime: (slot) =>
      slot.due === undefined ||
      performance.now() - slot.due <=
        lateMs(Math.max(slot.slackMs, defaultSlackMs)) + (slot.allowanceMs ?? 0),
    async retime(slot, cls = PLAIN) {
      if (slot.place < 0) return undefined;
      const asked = performance.now();
      const [ok, now, slack] = (await call('late', slot.place, slot.time, RETIME_MS, cls.kind)) as number[];
      if (Number(ok) !== 1) return undefined;
      return { ...slot, now: Number(now), slackMs: Number(slack), due: asked, allowanceMs: RETIME_MS };
    },
    async holdOff(ms) {
      await call('hold', Math.max(1, Math.ceil(ms)));
    },
    async remaining(remaining, resetMs, limitMax) {
      if (remaining > exhaustedAt(limitMax)) return { hold: 0, now: 0, ours: -1 };
      const ms = Math.max(1, Math.ceil(resetMs));
      const [hold, now, , ours] = (await call(
        'remaining',
        remaining,
        ms,
        exhaustedAt(limitMax),
        limitMax,
      )) as number[];
      return { hold: Number(hold), now: Number(now), ours: Number(ours) };
    },
    async seen(slot, remaining, limitMax, answeredMs) {
      if (limitMax !== burst.max || slot.place < 0) return undefined;
      const ms = Math.max(0, Math.round(answeredMs));
      if (lo < 0 || ms < lo) lo = ms;
      if (ms > hi) hi = ms;
      const counted = limitMax - remaining;
      if (worthObserving(counted, burst.max)) {
        // Reservoir sampling: each such answer since the last batch is in this one with the same chance.
        const i = seenSince < SEEN_BATCH ? seenSince : Math.floor(Math.random() * (seenSince + 1));
        seenSince++;
        if (i < SEEN_BATCH) {
          pending[2 * i] = slot.place;
          pending[2 * i + 1] = counted;
        }
      }
      if (performance.now() - sentAt < SEEN_EVERY_MS) return undefined;
      return flushSeen().catch(() => undefined);
    },
    flushSeen,
    settle(slot, left) {
      if (slot.place < 0) return;
      settled.push(left ? slot.place : -slot.place - 1, slot.time);
      if (settled.length >= 2 * SETTLE_BATCH) void flushSettled();
      else settleTimer ??= setTimeout(() => void flushSettled(), SETTLE_EVERY_MS).unref();
    },
    flushSettled,
  };
}
