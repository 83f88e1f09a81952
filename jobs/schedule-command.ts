import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { flagProblems } from '../schemas/cli.js';
import {
  DEFAULT_SETTLE_MS,
  SCHEDULE_NAME,
  type ScheduleDef,
  scheduleSetFlagsSchema,
} from '../schemas/schedule.js';
import { requireBraze } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { loadMapping } from '../src/import/input.js';
import { closeRedis, connectRedis, createRedis } from '../src/infra/redis.js';
import { describeDestination, destinationOf } from '../src/runs/destination.js';
import { ownerIsDead } from '../src/runs/owner.js';
import { canonicalTimeZone, clockIn, cronProblem } from '../src/sync/cron.js';
import { matchSource } from '../src/sync/pick.js';
import { newest, parseReadyMarker } from '../src/sync/pick-rules.js';
import {
  createScheduleStore,
  createSchedulesQueue,
  listSchedules,
  removeSchedule,
  type ScheduleStore,
  type ScheduleView,
  saveSchedule,
  viewOf,
} from '../src/sync/schedules.js';
import { out, parseFlags, requireRedisUrl, setup } from './common.js';
import { parseSyncArgv } from './sync-command.js';

/** Sync flags a schedule cannot pass through: it has its own, or the worker's key and endpoint decide. */
const OWN_FLAGS: Record<string, string> = {
  '--mapping': 'give it as the schedule\'s own --mapping (before "--")',
  '--api-key-file': "a firing sends with the worker's own key",
  '--allow-endpoint': "a firing sends to the worker's own endpoint",
  '--run-id': 'every firing is a new run',
  '--resume': 'every firing is a new run',
  '--ready-marker': 'give it as the schedule\'s own --ready-marker (before "--")',
  '--settle': 'give it as the schedule\'s own --settle (before "--")',
  '--dry-run': 'a firing sends; try the flags with `braze-import sync FILE --dry-run` first',
};

const destFlags = z.object({ apiKeyFile: z.string().optional(), allowEndpoint: z.string().optional() });
const listFlags = destFlags.extend({ json: z.boolean().default(false) });

function withDestFlags(cmd: Command): Command {
  return cmd
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host');
}

/** Every problem with `schedule set`'s input that needs no Redis and no file, one line each. */
function setProblems(name: string, raw: Record<string, unknown>, argv: string[]) {
  const problems: string[] = [];
  if (!SCHEDULE_NAME.test(name)) {
    problems.push(
      `schedule name: expected 1-64 letters, digits, _ . or -, starting with a letter or digit (got "${name}")`,
    );
  }
  const parsed = scheduleSetFlagsSchema.safeParse(raw);
  if (!parsed.success) problems.push(...flagProblems(parsed.error));
  // Checked on the raw values too, so that one bad flag does not hide another.
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const [tzText, cron, markerText] = [text(raw['tz']), text(raw['cron']), text(raw['readyMarker'])];
  const tz = tzText === undefined ? undefined : canonicalTimeZone(tzText);
  if (tzText !== undefined && !tz) {
    problems.push(`--tz: not a time zone (got "${tzText}"); use an IANA name such as Europe/Berlin or UTC`);
  }
  const cronIssue = cron === undefined ? undefined : cronProblem(cron, tz ?? 'UTC');
  if (cronIssue) problems.push(cronIssue);
  const marker = raw['readyMarker'] === undefined ? undefined : parseReadyMarker(String(raw['readyMarker']));
  if (typeof marker === 'string') problems.push(marker);
  if (markerText !== undefined && raw['settle'] !== undefined) {
    problems.push('--settle and --ready-marker: a file is ready when its marker exists; pass one of them');
  }
  if (argv.length > 0 && !argv[0]!.startsWith('-')) {
    problems.push(`sync flags after "--": "${argv[0]}" is not a flag (the file comes from --source)`);
  }
  for (const a of argv) {
    const flag = a.split('=')[0]!;
    const why = OWN_FLAGS[flag];
    if (why) problems.push(`sync flags after "--": ${flag} is not for a schedule: ${why}`);
  }
  if (problems.length === 0 && argv.length > 0) {
    // The flags a firing will give `sync`, read now as `sync` reads them.
    try {
      parseSyncArgv(argv);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(...err.lines.map((l) => `sync flags after "--": ${l.replace(/^sync flags: /, '')}`));
    }
  }
  const flags = parsed.data;
  if (problems.length > 0 || !flags || !tz || typeof marker === 'string') throw new UsageError(problems);
  return { flags, tz, marker };
}

async function withStore<T>(
  what: string,
  flags: z.output<typeof destFlags>,
  body: (store: ScheduleStore, queue: ReturnType<typeof createSchedulesQueue>, dest: string) => Promise<T>,
): Promise<T> {
  const { config } = setup(flags);
  const braze = requireBraze(config);
  const url = requireRedisUrl(config, what);
  const dest = destinationOf(braze.endpoint, braze.apiKey);
  const redis = await connectRedis(createRedis(url, 'producer', `braze-import:${what}`), url);
  const queue = createSchedulesQueue(redis, config.prefix, dest.id);
  try {
    return await body(createScheduleStore(redis, config.prefix, dest.id), queue, describeDestination(dest));
  } finally {
    await queue.close().catch(() => undefined);
    await closeRedis(redis);
  }
}

const at = (ms: number, tz: string) =>
  tz === 'UTC' ? `${clockIn(ms, tz)} UTC` : `${clockIn(ms, tz)} ${tz} (${clockIn(ms, 'UTC')} UTC)`;

function lines(v: ScheduleView): string[] {
  const { def, state } = v;
  const ready = def.readyMarker
    ? `when ${def.readyMarker} exists`
    : `when unchanged for ${def.settleMs / 1000} s`;
  const shown = [
    `${def.name}  ${def.cron}  ${def.tz}`,
    `  from  ${def.source} (a file is complete ${ready})`,
  ];
  const flags = [...(def.mapping ? ['--mapping', def.mapping] : []), ...def.argv];
  if (flags.length > 0) shown.push(`  with  ${flags.join(' ')}`);
  shown.push(`  next  ${v.next === undefined ? '- (no job scheduler: set it again)' : at(v.next, def.tz)}`);
  // The latest firing, and the latest that started a sync when that was an earlier one.
  const sameFiring = state.run !== undefined && state.run.at === state.last?.at;
  if (state.last)
    shown.push(`  last  ${clockIn(state.last.at, def.tz)}  ${sameFiring ? runLine(v) : state.last.message}`);
  if (state.run && !sameFiring) shown.push(`  run   ${clockIn(state.run.at, def.tz)}  ${runLine(v)}`);
  return shown;
}

/** The latest sync a firing started: ended, still going, or cut off by a worker that died. */
function runLine(v: ScheduleView): string {
  const run = v.state.run!;
  const id = run.runId ? `, run ${run.runId}` : '';
  if (run.outcome !== 'started') return `${run.message}${id}`;
  const holder = v.state.lockHolder;
  return holder && !ownerIsDead(holder)
    ? `${run.message}: still going`
    : `${run.message}: interrupted (its worker stopped before the sync ended)`;
}

function viewJson(v: ScheduleView) {
  const { v: _v, destId: _d, ...def } = v.def;
  return {
    ...def,
    next:
      v.next === undefined ? null : { utc: new Date(v.next).toISOString(), local: clockIn(v.next, def.tz) },
    last: v.state.last ?? null,
    run: v.state.run ?? null,
    synced: v.state.synced ?? null,
    running: v.state.lockHolder !== undefined && !ownerIsDead(v.state.lockHolder),
  };
}

export function scheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .description(
      "run a sync on a cron schedule; this destination's `braze-import worker` processes fire it (needs REDIS_URL)",
    );
  withDestFlags(
    schedule
      .command('set')
      .description(
        'create or replace a schedule: each firing syncs the newest complete file --source matches',
      )
      .argument('<name>', 'the schedule name (letters, digits, _ . -)')
      .argument('[sync-flags...]', 'other sync flags, after "--" (e.g. -- --id-column uid)')
      .option('--cron <expr>', 'when it fires: 5 fields ("0 2 * * *"), or 6 with seconds first')
      .option('--tz <zone>', 'the time zone the cron is read in (IANA name, e.g. Europe/Berlin, UTC)')
      .option(
        '--source <file|glob>',
        'the file or glob to sync from; the newest match is taken (quote globs)',
      )
      .option('--mapping <file>', 'mapping file for the sync')
      .option(
        '--ready-marker <name>',
        'a file is complete when this exists: _SUCCESS (in its folder), FILE.done or .done (its name + suffix)',
      )
      .option('--settle <duration>', 'without a marker: complete when unchanged this long (default 60s)'),
  ).action(async (name: string, argv: string[], raw: Record<string, unknown>) => {
    const { flags, tz, marker } = setProblems(name, raw, argv);
    const source = resolve(flags.source);
    const mapping = flags.mapping === undefined ? undefined : resolve(flags.mapping);
    // Checked before Redis is touched: a schedule that could never work is not stored.
    const matches = await matchSource(source, marker);
    if (mapping) await loadMapping(mapping);
    await withStore('schedule set', flags, async (store, queue, dest) => {
      const def: ScheduleDef = {
        v: 1,
        name,
        cron: flags.cron,
        tz,
        source,
        ...(mapping ? { mapping } : {}),
        ...(flags.readyMarker !== undefined ? { readyMarker: flags.readyMarker.trim() } : {}),
        settleMs: flags.settle ?? DEFAULT_SETTLE_MS,
        argv,
        destId: store.destId,
        updatedAt: Date.now(),
      };
      await saveSchedule(store, queue, def);
      const view = await viewOf(store, queue, def);
      out(
        `Schedule ${name} set for ${dest}; it fires in \`braze-import worker\` processes of this destination.`,
      );
      for (const l of lines(view)) out(l);
      out(`  now   ${matches.length} match(es), newest ${newest(matches)?.path}`);
    });
  });
  withDestFlags(
    schedule.command('list').description("this destination's schedules, with their next and last firing"),
  )
    .option('--json', 'print JSON')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(listFlags, raw);
      await withStore('schedule list', flags, async (store, queue, dest) => {
        const views = await listSchedules(store, queue);
        if (flags.json) return out(JSON.stringify(views.map(viewJson)));
        if (views.length === 0) return out(`No schedules for ${dest}.`);
        for (const v of views) for (const l of lines(v)) out(l);
      });
    });
  withDestFlags(
    schedule.command('remove').description('remove a schedule: it fires no more').argument('<name>'),
  ).action(async (name: string, raw: Record<string, unknown>) => {
    const flags = parseFlags(destFlags, raw);
    await withStore('schedule remove', flags, async (store, queue) => {
      const state = await store.state(name);
      if (!(await removeSchedule(store, queue, name))) throw new UsageError(`no schedule ${name}`);
      const going = state.lockHolder !== undefined ? ' (the sync it started goes on to its end)' : '';
      out(`Schedule ${name} removed${going}.`);
    });
  });
}
