import { describe, expect, it } from 'vitest';
import { parseEmulatorFlags } from '../../jobs/emulator-command.js';
import { EMULATOR_BUCKETS, emulatorFlagsSchema, faultPatchSchema } from '../../schemas/emulator.js';
import { BUCKETS } from '../../src/emulator/options.js';
import { UsageError } from '../../src/errors.js';

describe('emulator flags schema', () => {
  it('names the same buckets as the emulator', () => {
    expect([...EMULATOR_BUCKETS]).toEqual([...BUCKETS]);
  });

  it('turns string flags into options, leaving unset ones to the defaults', () => {
    const out = emulatorFlagsSchema.parse({
      port: '0',
      rateLimit: ['track=100/1s,users=off', 'export-ids=2500/1m'],
      window: 'fixed',
      legacyPerArray: true,
      failRate: '0.25',
      failStatuses: '502,503',
      burst429Every: '10',
      latencyMs: '150',
      latencyJitterMs: '50',
      arrivalJitterMs: '250',
    });
    expect(out).toEqual({
      port: 0,
      rateLimits: {
        track: { limit: 100, windowMs: 1000 },
        users: null,
        'export-ids': { limit: 2500, windowMs: 60_000 },
      },
      window: 'fixed',
      legacyPerArray: true,
      faults: {
        failRate: 0.25,
        failStatuses: [502, 503],
        burst429Every: 10,
        latencyMs: 150,
        latencyJitterMs: 50,
        arrivalJitterMs: 250,
      },
    });
    expect(emulatorFlagsSchema.parse({})).toEqual({ faults: {} });
  });

  it('reads extra keys with their permissions, the legacy api_key switch and the 429 header mode', () => {
    expect(
      emulatorFlagsSchema.parse({
        key: ['reader=users.export.ids', 'tracker=users.track,users.delete'],
        legacyApiKey: false,
        headers429: 'retry-after',
      }),
    ).toEqual({
      keys: { reader: ['users.export.ids'], tracker: ['users.track', 'users.delete'] },
      legacyApiKey: false,
      headers429: 'retry-after',
      faults: {},
    });
    const bad = emulatorFlagsSchema.safeParse({ key: ['no-permissions-sign'], headers429: 'some' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path[0])).toEqual(['key', 'headers429']);
  });

  it('reports every problem at once, one line per flag', () => {
    let caught: unknown;
    try {
      parseEmulatorFlags({
        port: '70000',
        rateLimit: ['tracks=1/1s', 'track=fast'],
        window: 'rolling',
        failRate: '1.5',
        burst429Every: 'x',
        store: 'disk',
        arrivalJitterMs: '-5',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    const lines = (caught as UsageError).lines;
    expect(lines).toHaveLength(8);
    expect(lines.map((l) => l.split(':')[0])).toEqual(
      expect.arrayContaining([
        '--port',
        '--rate-limit',
        '--window',
        '--fail-rate',
        '--burst-429-every',
        '--store',
        '--arrival-jitter-ms',
      ]),
    );
    expect(lines.filter((l) => l.startsWith('--rate-limit'))).toHaveLength(2);
  });

  it('fault patches reject unknown keys and out-of-range rates', () => {
    expect(faultPatchSchema.safeParse({ failRate: 0.5, seed: 3 }).success).toBe(true);
    const bad = faultPatchSchema.safeParse({ failRate: 2, explode: true });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues).toHaveLength(2);
  });

  it('reads the /users/track/bulk flags: its rate limit, its caps and faults aimed at it', () => {
    expect(
      emulatorFlagsSchema.parse({
        rateLimit: ['bulk=100/1s'],
        bulkMaxObjects: '500',
        bulkMaxObjectsPerUser: '10',
        bulkMaxBodyBytes: '1048576',
        faultBuckets: 'bulk',
        failRate: '0.5',
        key: ['backfill=users.track.bulk'],
      }),
    ).toEqual({
      rateLimits: { bulk: { limit: 100, windowMs: 1000 } },
      bulkMaxObjects: 500,
      bulkMaxObjectsPerUser: 10,
      bulkMaxBodyBytes: 1_048_576,
      keys: { backfill: ['users.track.bulk'] },
      faults: { buckets: ['bulk'], failRate: 0.5 },
    });
    expect(emulatorFlagsSchema.parse({ faultBuckets: 'track, bulk' }).faults).toEqual({
      buckets: ['track', 'bulk'],
    });
    expect(emulatorFlagsSchema.parse({ faultBuckets: 'all' }).faults).toEqual({ buckets: 'all' });
    const bad = emulatorFlagsSchema.safeParse({ faultBuckets: 'bulk,tracks', bulkMaxObjectsPerUser: '0' });
    expect(bad.error?.issues.map((i) => i.path[0])).toEqual(['bulkMaxObjectsPerUser', 'faultBuckets']);
    expect(faultPatchSchema.safeParse({ buckets: ['bulk'] }).success).toBe(true);
    expect(faultPatchSchema.safeParse({ buckets: ['nope'] }).success).toBe(false);
  });
});
