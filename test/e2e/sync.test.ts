/**
 * Nightly syncs as a user runs them: `braze-import sync` of a 100,000-user snapshot, then three more
 * nights with 1% of users changed (some attributes changed, some users new) through a recording proxy.
 * Each night, what reached Braze must be exactly the attributes that differ from what Braze last
 * accepted (a model built from the proxy's record of accepted requests), for exactly those users:
 * so users of a chunk that failed one night are sent again the next, and nothing else is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import type { Summary } from '../../src/runs/summary.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { startRecordingProxy } from '../helpers/recording-proxy.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';

type Attrs = Record<string, string | number>;
type Snapshot = Map<string, Attrs>;

const USERS = 100_000;
const PLANS = ['free', 'pro', 'team', 'enterprise'];
const CITIES = ['Berlin', 'Lyon', 'Osaka', 'Lima', 'Perth', 'Quito'];

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function firstSnapshot(): Snapshot {
  const r = rng(7);
  const s: Snapshot = new Map();
  for (let i = 0; i < USERS; i++) {
    s.set(`user-${i}`, {
      first_name: `Name${i}`,
      plan: PLANS[Math.floor(r() * PLANS.length)]!,
      score: Math.floor(r() * 1000),
      city: CITIES[Math.floor(r() * CITIES.length)]!,
    });
  }
  return s;
}

/** 1% of users changed: two thirds of them existing users with one or two attributes changed, a third new. */
function nextNight(prev: Snapshot, night: number): Snapshot {
  const r = rng(100 + night);
  const next: Snapshot = new Map([...prev].map(([id, a]) => [id, { ...a }]));
  const ids = [...prev.keys()];
  const changes = Math.round(prev.size * 0.01);
  for (let k = 0; k < Math.round((changes * 2) / 3); k++) {
    const id = ids[Math.floor(r() * ids.length)]!;
    const a = next.get(id)!;
    a['score'] = (Number(a['score']) + 1 + Math.floor(r() * 50)) % 1000;
    if (r() < 0.5) a['plan'] = PLANS[(PLANS.indexOf(String(a['plan'])) + 1) % PLANS.length]!;
  }
  for (let k = 0; k < Math.round(changes / 3); k++) {
    next.set(`new-${night}-${k}`, { first_name: `New${night}x${k}`, plan: 'free', score: k, city: 'Lima' });
  }
  return next;
}

function writeSnapshot(dir: string, name: string, s: Snapshot): string {
  const path = join(dir, name);
  const lines = ['external_id,first_name,plan,score,city'];
  for (const [id, a] of s) lines.push(`${id},${a['first_name']},${a['plan']},${a['score']},${a['city']}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** What each user's attributes objects carried in these requests (later objects win per attribute). */
function sentAttributes(reqs: Array<{ body: unknown }>): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of reqs) {
    const attrs = (r.body as { attributes?: Array<Record<string, unknown>> }).attributes ?? [];
    for (const { external_id, ...rest } of attrs) {
      const id = String(external_id);
      out.set(id, { ...out.get(id), ...rest });
    }
  }
  return out;
}

/** What a night should send: for each user, the attributes whose value differs from what Braze has. */
function expectedChanges(snapshot: Snapshot, accepted: Map<string, Record<string, unknown>>) {
  const out = new Map<string, Record<string, unknown>>();
  for (const [id, attrs] of snapshot) {
    const has = accepted.get(id);
    const diff: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(attrs)) if (!has || has[k] !== v) diff[k] = v;
    if (Object.keys(diff).length > 0) out.set(id, diff);
  }
  return out;
}

function sorted(m: Map<string, Record<string, unknown>>) {
  return [...m].sort(([a], [b]) => (a < b ? -1 : 1));
}

let emu: Emulator;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let dir: string;
const KEY = 'sync-key';
const prefix = uniquePrefix('sync');
const env = (extra: Record<string, string> = {}) =>
  cliEnv({
    REDIS_URL: testRedisUrl(),
    BRAZE_REST_ENDPOINT: proxy.url,
    BRAZE_API_KEY: KEY,
    BRAZE_IMPORT_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...extra,
  });

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY, rateLimits: { track: null } });
  proxy = await startRecordingProxy(() => emu.url);
  dir = tempDir('bi-sync-');
});
afterAll(async () => {
  await proxy.close();
  await emu.close();
});

async function faults(body: Record<string, unknown>) {
  const r = await request(`${emu.url}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(r.statusCode).toBe(200);
  await r.body.text();
}

describe('nightly sync', () => {
  /** Braze's accepted state as the proxy saw it: attributes of requests answered 2xx. */
  const accepted = new Map<string, Record<string, unknown>>();
  const night = async (file: string, args: string[] = [], extra: Record<string, string> = {}) => {
    const before = proxy.requests.length;
    const r = await runCli(['sync', file, '--json', ...args], env(extra), { timeoutMs: 300_000 });
    const reqs = proxy.requests.slice(before).filter((q) => q.path.endsWith('/users/track'));
    for (const [id, attrs] of sentAttributes(reqs.filter((q) => q.status < 300))) {
      accepted.set(id, { ...accepted.get(id), ...attrs });
    }
    return { r, summary: JSON.parse(r.stdout) as Summary, sent: sentAttributes(reqs) };
  };

  let snapshot = firstSnapshot();

  it('the first sync sends every user in full', async () => {
    const file = writeSnapshot(dir, 'users-0.csv', snapshot);
    const { r, summary, sent } = await night(file);
    expect(r.code, r.stderr).toBe(0);
    expect(summary.sync).toMatchObject({ usersNew: USERS, usersChanged: 0, usersUnchanged: 0 });
    expect(sent.size).toBe(USERS);
  }, 300_000);

  it('three nights with 1% changed send exactly the changed attributes of the changed users', async () => {
    for (let n = 1; n <= 3; n++) {
      snapshot = nextNight(snapshot, n);
      const file = writeSnapshot(dir, `users-${n}.csv`, snapshot);
      const expected = expectedChanges(snapshot, accepted);
      // Night 2: a fifth of the requests fail for good (500, no retries): their users are re-sent on night 3.
      if (n === 2) await faults({ failRate: 0.2, failStatuses: [500] });
      const extra: Record<string, string> = n === 2 ? { BRAZE_RETRY_ATTEMPTS: '1' } : {};
      const { r, summary, sent } = await night(file, [], extra);
      if (n === 2) await faults({ failRate: 0 });
      expect(r.code, r.stderr).toBe(n === 2 ? 3 : 0);
      expect(sorted(sent)).toEqual(sorted(expected));
      const newUsers = [...expected.keys()].filter((id) => !accepted.has(id) || id.startsWith('new-')).length;
      expect(summary.sync!.usersNew + summary.sync!.usersChanged).toBe(expected.size);
      expect(summary.sync!.usersUnchanged).toBe(snapshot.size - expected.size);
      expect(newUsers).toBeGreaterThan(0);
      if (n === 2) expect(summary.objects.failed).toBeGreaterThan(0);
      if (n === 3) {
        // What failed on night 2 went again on night 3, on top of night 3's own changes.
        expect(expected.size).toBeGreaterThan(Math.round(USERS * 0.01));
      }
    }
  }, 600_000);

  it('--unset-missing unsets exactly the attributes of the users that left', async () => {
    const gone = [...snapshot.keys()].filter((_, i) => i % 250 === 3); // 0.4%
    const next: Snapshot = new Map([...snapshot].filter(([id]) => !gone.includes(id)));
    const file = writeSnapshot(dir, 'users-4.csv', next);
    const { r, summary, sent } = await night(file, ['--unset-missing']);
    expect(r.code, r.stderr).toBe(0);
    expect(summary.sync!.usersUnset).toBe(gone.length);
    const unsets = new Map(gone.map((id) => [id, { first_name: null, plan: null, score: null, city: null }]));
    expect(sorted(sent)).toEqual(sorted(unsets));
    for (const id of gone.slice(0, 5)) {
      const p = await request(`${emu.url}/_emulator/users/${id}`);
      expect(((await p.body.json()) as { attributes: object }).attributes).toEqual({});
    }
    snapshot = next;
  }, 300_000);

  it('--full sends every user again and says none differed', async () => {
    const file = writeSnapshot(dir, 'users-5.csv', snapshot);
    const { r, summary, sent } = await night(file, ['--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(sent.size).toBe(snapshot.size);
    expect(summary.sync).toMatchObject({ usersUnchanged: snapshot.size, usersChanged: 0, usersNew: 0 });
    expect(summary.sync!.attributesSkipped).toBe(0);
  }, 300_000);
});
