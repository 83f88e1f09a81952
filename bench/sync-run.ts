/**
 * Issue 13's figures: nightly syncs of the bench file on one Redis (the change record persists across
 * them) and one emulator enforcing the limit, each `braze-import sync` as a user runs it:
 *   first  the first sync (every user is new: fills the record);
 *   solo   a sync of the file with 1% of rows changed (one attribute each);
 *   beside another 1% changed, while a `backfill` of the whole file (default share) sends too;
 * and the record's Redis memory per user. A bulk backfill is measured apart (bulkBackfill).
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, renameSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import type { EmulatorStatsView } from '../src/emulator/index.js';
import { startPrivateRedis } from '../src/infra/private-redis.js';
import { BIN } from './data-file.js';
import { benchEnv, startEmulatorProcess } from './emulator-process.js';
import { runMeasured } from './measure.js';

const DEADLINE_MS = 20 * 60_000;

export interface SyncPass {
  wallS: number;
  cpuS: number;
  requestsSent: number;
  usersChanged: number;
  usersUnchanged: number;
}

export interface SyncResult {
  rows: number;
  first: SyncPass;
  solo: SyncPass;
  beside: SyncPass;
  /** What the emulator saw while `beside` and the backfill sent. */
  besideBusiest3s: number;
  besideRateLimited: number;
  /** The change record: Redis memory of its keys, the users it holds, bytes a user. */
  recordBytes: number;
  recordUsers: number;
}

/**
 * `<file>-changed-<k>.csv`: the file with every 100th row (from row `k`) changed in its last cell
 * (loyalty_points, a number): 1% of users, one attribute each.
 */
export async function changedFile(file: string, k: number): Promise<string> {
  const out = file.replace(/\.csv$/, `-changed-${k}.csv`);
  if (existsSync(out)) return out;
  const partial = `${out}.partial`;
  const w = createWriteStream(partial);
  let i = -1;
  for await (const line of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    let text = line;
    if (i >= 0 && i % 100 === k) {
      const cut = line.lastIndexOf(',');
      const n = Number(line.slice(cut + 1));
      text = `${line.slice(0, cut + 1)}${Number.isFinite(n) && line.slice(cut + 1) !== '' ? n + 1 : 7}`;
    }
    if (!w.write(`${text}\n`)) await new Promise<void>((r) => w.once('drain', () => r()));
    i++;
  }
  await new Promise<void>((r) => w.end(() => r()));
  renameSync(partial, out);
  return out;
}

type SyncSummary = {
  requests: { sent: number };
  sync?: { usersChanged: number; usersNew: number; usersUnchanged: number };
};

async function sync(file: string, env: NodeJS.ProcessEnv): Promise<SyncPass> {
  const run = await runMeasured([BIN, 'sync', file, '--json', '--name', 'bench'], env, DEADLINE_MS);
  if (run.code !== 0) throw new Error(`braze-import sync exited ${run.code}: ${run.stdout.slice(0, 300)}`);
  const s = JSON.parse(run.stdout) as SyncSummary;
  return {
    wallS: run.wallMs / 1000,
    cpuS: run.cpuS,
    requestsSent: s.requests.sent,
    usersChanged: (s.sync?.usersChanged ?? 0) + (s.sync?.usersNew ?? 0),
    usersUnchanged: s.sync?.usersUnchanged ?? 0,
  };
}

/** Redis memory of the record's keys (MEMORY USAGE, exact), and the users its meta counts. */
async function recordMemory(client: Redis): Promise<{ bytes: number; users: number }> {
  let bytes = 0;
  let users = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', '*:sync:*', 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (key.endsWith(':lock')) continue;
      bytes += Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      if (key.endsWith(':meta')) users += Number((await client.hget(key, 'users')) ?? 0);
    }
  } while (cursor !== '0');
  return { bytes, users };
}

export async function syncRun(file: string, rows: number, limit: string): Promise<SyncResult> {
  const [a, b] = [await changedFile(file, 0), await changedFile(file, 50)];
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const emu = await startEmulatorProcess(['--rate-limit', `track=${limit}`]);
  try {
    const env = benchEnv(redis.url, emu.url, limit);
    const first = await sync(file, env);
    const memory = await recordMemory(client);
    const solo = await sync(a, env);
    const before = await emu.stats();
    const backfill = spawn(BIN, ['backfill', file, '--force'], { env, stdio: 'ignore' });
    const closed = new Promise<void>((r) => backfill.once('close', () => r()));
    // The sync starts once the backfill sends.
    for (let i = 0; i < 300; i++) {
      if ((await emu.stats()).requests.track > before.requests.track + 50) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const beside = await sync(b, env);
    const after: EmulatorStatsView = await emu.stats();
    backfill.kill('SIGTERM');
    await closed;
    return {
      rows,
      first,
      solo,
      beside,
      besideBusiest3s: after.maxTrackRequestsIn3s,
      besideRateLimited: after.rateLimited - before.rateLimited,
      recordBytes: memory.bytes,
      recordUsers: memory.users,
    };
  } finally {
    client.disconnect();
    await emu.stop();
    await redis.stop();
  }
}

export interface BulkResult {
  rows: number;
  wallS: number;
  peakRssMb: number;
  bulkRequests: number;
  maxObjectsPerRequest: number;
  trackRequests: number;
  rateLimited: number;
  accepted: number;
}

/** `backfill --endpoint bulk` of the file, against the emulator's /users/track/bulk at its default limit. */
export async function bulkBackfill(file: string, rows: number): Promise<BulkResult> {
  const redis = await startPrivateRedis();
  const emu = await startEmulatorProcess([]);
  try {
    const env = benchEnv(redis.url, emu.url);
    const args = [BIN, 'backfill', file, '--json', '--endpoint', 'bulk'];
    const run = await runMeasured(args, env, DEADLINE_MS);
    if (run.code !== 0)
      throw new Error(`braze-import backfill exited ${run.code}: ${run.stdout.slice(0, 300)}`);
    const summary = JSON.parse(run.stdout) as { objects: { accepted: number } };
    const stats = await emu.stats();
    const bulk = stats.endpoints['/users/track/bulk'];
    return {
      rows,
      wallS: run.wallMs / 1000,
      peakRssMb: run.peakRssMb,
      bulkRequests: bulk?.requests ?? 0,
      maxObjectsPerRequest: bulk?.objects.maxPerRequest ?? 0,
      trackRequests: stats.endpoints['/users/track']?.requests ?? 0,
      rateLimited: stats.rateLimited,
      accepted: summary.objects.accepted,
    };
  } finally {
    await emu.stop();
    await redis.stop();
  }
}
