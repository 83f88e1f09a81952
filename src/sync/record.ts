import type { Redis } from 'ioredis';
import { bucketOf, DEFAULT_BUCKETS, decodeEntry, type Entry, NULL_HASH, u32 } from './hash.js';
import { COMMIT, LOOKUP, MARK, MISSING } from './scripts.js';

/**
 * The change record of a sync: what Braze last accepted for each user, per workspace and sync name,
 * in Redis so that every worker of a fleet shares it and it outlives any process.
 *
 * - `{base}:meta` (hash): `buckets`, `slots` (how many attribute names have one), `s:<name>` (a
 *   name's slot), `users` (entries holding values), `marks` (the last mark handed out), and what the
 *   last completed sync saw: `lastRows`, `header` (JSON), `lastFile`, `lastRun`, `lastAt`.
 * - `{base}:b:{n}` (hashes): external_id -> entry (hash.ts: a 4-byte mark, then 4 bytes a slot).
 *
 * Values are hashes of what was sent, never the values: the record holds no personal data beyond the
 * identifiers, and a user costs ~4 bytes an attribute.
 */
export interface RecordMeta {
  buckets: number;
  /** Attribute name -> slot. */
  slots: Map<string, number>;
  users: number;
  lastRows?: number;
  header?: string[];
  lastFile?: string;
  lastRun?: string;
  lastAt?: number;
}

/** What a lookup found: the user's entry, `new` (not in the record) or `dup` (seen earlier in this sync). */
export type Found = Entry | 'new' | 'dup';

export interface AcceptedUser {
  id: string;
  /** Attribute name and the hash of the value Braze accepted. */
  values: Array<[string, number]>;
}

export function recordBase(prefix: string, destId: string, name: string): string {
  return `${prefix}:sync:${destId}:${name}`;
}

type Scripted = Redis & {
  syncLookup(...args: Array<string | Buffer>): Promise<Array<number | Buffer>>;
  syncLookupBuffer(...args: Array<string | Buffer>): Promise<Array<number | Buffer>>;
  syncMark(...args: Array<string | Buffer>): Promise<number>;
  syncCommit(...args: Array<string | Buffer>): Promise<number>;
  syncMissingBuffer(...args: Array<string | Buffer>): Promise<Buffer[]>;
};

function scripted(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.syncLookup !== 'function') {
    r.defineCommand('syncLookup', { numberOfKeys: 0, lua: LOOKUP });
    r.defineCommand('syncMark', { numberOfKeys: 0, lua: MARK });
    r.defineCommand('syncCommit', { numberOfKeys: 0, lua: COMMIT });
    r.defineCommand('syncMissing', { numberOfKeys: 0, lua: MISSING });
  }
  return r;
}

const NULL = u32(NULL_HASH);
/** Buckets a MISSING call reads: ~4,000 users at a million. */
const MISSING_BUCKETS = 64;

export type ChangeRecord = ReturnType<typeof openRecord>;

export function openRecord(redis: Redis, base: string) {
  const r = scripted(redis);
  const metaKey = `${base}:meta`;
  const pairs = (ids: readonly string[], buckets: number): string[] => {
    const args: string[] = [];
    for (const id of ids) args.push(String(bucketOf(id, buckets)), id);
    return args;
  };
  return {
    base,
    async meta(): Promise<RecordMeta> {
      await r.hsetnx(metaKey, 'buckets', DEFAULT_BUCKETS);
      const h = await r.hgetall(metaKey);
      const slots = new Map<string, number>();
      for (const [k, v] of Object.entries(h)) if (k.startsWith('s:')) slots.set(k.slice(2), Number(v));
      const num = (k: string) => (h[k] === undefined ? undefined : Number(h[k]));
      return {
        buckets: num('buckets') ?? DEFAULT_BUCKETS,
        slots,
        users: num('users') ?? 0,
        ...(h['lastRows'] !== undefined ? { lastRows: Number(h['lastRows']) } : {}),
        ...(h['header'] ? { header: JSON.parse(h['header']) as string[] } : {}),
        ...(h['lastFile'] ? { lastFile: h['lastFile'] } : {}),
        ...(h['lastRun'] ? { lastRun: h['lastRun'] } : {}),
        ...(num('lastAt') !== undefined ? { lastAt: num('lastAt') } : {}),
      };
    },
    /** A mark no earlier pass used. */
    async newMark(): Promise<number> {
      return (await r.hincrby(metaKey, 'marks', 1)) >>> 0 || (await r.hincrby(metaKey, 'marks', 1)) >>> 0;
    },
    /** Entries of the users; with `write`, each gets the mark (see LOOKUP). */
    async lookup(ids: readonly string[], mark: number, buckets: number, write: boolean): Promise<Found[]> {
      if (ids.length === 0) return [];
      const raw = await r.syncLookupBuffer(base, u32(mark), write ? '1' : '0', ...pairs(ids, buckets));
      return raw.map((v) => (v === 0 ? 'new' : v === 2 ? 'dup' : decodeEntry(v as Buffer)));
    },
    /** The first pass of a mirror sync: marks the known users of the snapshot; how many were new to it. */
    async markSeen(ids: readonly string[], mark: number, buckets: number): Promise<number> {
      if (ids.length === 0) return 0;
      return Number(await r.syncMark(base, u32(mark), NULL, ...pairs(ids, buckets)));
    },
    async commit(users: readonly AcceptedUser[], mark: number, buckets: number): Promise<void> {
      if (users.length === 0) return;
      const args: Array<string | Buffer> = [base, u32(mark), NULL];
      for (const u of users) {
        args.push(String(bucketOf(u.id, buckets)), u.id, String(u.values.length));
        for (const [name, hash] of u.values) args.push(name, u32(hash));
      }
      await r.syncCommit(...args);
    },
    /** Users holding values without this mark, a few thousand at a time. */
    async *missing(mark: number, buckets: number): AsyncGenerator<{ id: string; entry: Entry }> {
      for (let from = 0; from < buckets; from += MISSING_BUCKETS) {
        const to = Math.min(buckets, from + MISSING_BUCKETS);
        const flat = await r.syncMissingBuffer(base, u32(mark), NULL, String(from), String(to));
        for (let i = 0; i + 1 < flat.length; i += 2) {
          yield { id: flat[i]!.toString('utf8'), entry: decodeEntry(flat[i + 1]!) };
        }
      }
    },
    /** What a completed sync saw, for the next one's checks. */
    async finish(f: {
      rows: number;
      header?: readonly string[];
      file: string;
      runId: string;
    }): Promise<void> {
      await r.hset(metaKey, {
        lastRows: f.rows,
        lastFile: f.file,
        lastRun: f.runId,
        lastAt: Date.now(),
        ...(f.header ? { header: JSON.stringify(f.header) } : {}),
      });
    },
    /** Every key of the record (tests, and `sync --forget`). */
    async drop(): Promise<void> {
      const meta = await this.meta();
      const keys = [metaKey];
      for (let b = 0; b < meta.buckets; b++) keys.push(`${base}:b:${b}`);
      for (let i = 0; i < keys.length; i += 1000) await r.unlink(...keys.slice(i, i + 1000));
    },
  };
}
