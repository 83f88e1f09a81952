import type { Firing, ScheduleDef } from '../../schemas/schedule.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { ownerId } from '../runs/owner.js';
import { type SyncLauncher, syncedFile } from './launcher.js';
import { pickInput } from './pick.js';
import { type FileIdentity, parseReadyMarker } from './pick-rules.js';
import type { ScheduleStore } from './schedules.js';

/**
 * One firing of a schedule, on whichever worker BullMQ hands it to:
 * 1. the overlap lock (`<base>:schedule:<name>:lock`): taken with SET NX and a TTL, renewed every
 *    third of it while this firing picks and syncs, released at the end. A firing that finds it held
 *    is skipped. A worker that dies stops renewing, so its lock lapses after one TTL and the next
 *    firing runs: nothing has to clean up after a crash.
 * 2. the file (src/sync/pick.ts): none new, or not complete, ends the firing with that said.
 * 3. the sync, through the launcher the worker passed in; its result is recorded, and its file is
 *    remembered as synced when the sync used it up (exit 0 or 3).
 * Every outcome is logged and recorded for `schedule list`.
 */

export interface FiringDeps {
  store: ScheduleStore;
  launcher: SyncLauncher;
  log: Logger;
  /** The overlap lock's TTL: how long a dead worker's firing keeps the next ones off. */
  lockMs: number;
  /** Aborted when the worker is asked to stop: a settle wait ends, the sync is asked to stop. */
  stopping: AbortSignal;
  now?: () => number;
}

export type FiringHandler = (name: string, due?: number) => Promise<Firing | undefined>;

type FiringBase = Pick<Firing, 'at' | 'due'>;

/** Renews the overlap lock every third of its TTL until the returned function is called. */
function keepLock(deps: FiringDeps, name: string, token: string): () => void {
  let lost = false;
  const timer = setInterval(
    () => {
      deps.store.renew(name, token, deps.lockMs).then(
        (held) => {
          if (held || lost) return;
          lost = true;
          deps.log.warn({ schedule: name }, `lost the overlap lock of ${name}: another firing may start`);
        },
        (err: Error) =>
          deps.log.warn({ schedule: name, err: err.message }, 'could not renew the overlap lock'),
      );
    },
    Math.max(100, Math.floor(deps.lockMs / 3)),
  );
  return () => clearInterval(timer);
}

/** The file to sync, or the firing's outcome when there is none to take. */
async function pickFor(deps: FiringDeps, def: ScheduleDef, base: FiringBase): Promise<FileIdentity | Firing> {
  const marker = def.readyMarker === undefined ? undefined : parseReadyMarker(def.readyMarker);
  try {
    const picked = await pickInput(def.source, {
      readyMarker: typeof marker === 'string' ? undefined : marker,
      settleMs: def.settleMs,
      synced: (await deps.store.state(def.name)).synced,
      signal: deps.stopping,
      now: deps.now,
    });
    if (picked.kind === 'new') return picked.file;
    return { ...base, outcome: picked.kind, message: picked.reason, file: picked.file };
  } catch (err) {
    if (err instanceof UsageError) return { ...base, outcome: 'no-match', message: err.message };
    return { ...base, outcome: 'failed', message: `could not look for a file: ${(err as Error).message}` };
  }
}

/** Runs the sync through the launcher; what it came to, as the firing's outcome. */
async function launch(
  deps: FiringDeps,
  def: ScheduleDef,
  file: FileIdentity,
  base: FiringBase,
): Promise<Firing> {
  const now = deps.now ?? Date.now;
  const spec = {
    name: def.name,
    file: file.path,
    argv: def.argv,
    ...(def.mapping ? { mapping: def.mapping } : {}),
  };
  try {
    const result = await deps.launcher(spec, deps.stopping);
    return {
      ...base,
      outcome: syncedFile(result) ? 'synced' : 'not-synced',
      message: `sync of ${file.path} ended ${result.status} (exit ${result.exitCode})`,
      file,
      status: result.status,
      exitCode: result.exitCode,
      endedAt: now(),
      ...(result.runId ? { runId: result.runId } : {}),
    };
  } catch (err) {
    const message = `sync of ${file.path} failed: ${(err as Error).message}`;
    return { ...base, outcome: 'failed', message, file, endedAt: now() };
  }
}

export function createFiringHandler(deps: FiringDeps): FiringHandler {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const finish = async (name: string, firing: Firing, opts: Parameters<ScheduleStore['record']>[2] = {}) => {
    await store.record(name, firing, opts);
    const level = ['failed', 'not-synced', 'no-match'].includes(firing.outcome) ? 'warn' : 'info';
    log[level]({ schedule: name, outcome: firing.outcome, file: firing.file?.path }, firing.message);
    return firing;
  };

  return async (name, due) => {
    const def = await store.get(name);
    if (!def) {
      log.info({ schedule: name }, `schedule ${name} was removed: nothing to do`);
      return undefined;
    }
    if (def.destId !== store.destId) {
      // Cannot happen through `schedule set`; a copied key must still not send with this key.
      log.error({ schedule: name }, `schedule ${name} belongs to another destination: not run here`);
      return undefined;
    }
    const base: FiringBase = { at: now(), ...(due !== undefined ? { due } : {}) };
    const token = ownerId();
    if (!(await store.lock(name, token, deps.lockMs))) {
      return finish(name, {
        ...base,
        outcome: 'skipped',
        message: `skipped: previous run of ${name} still going`,
      });
    }
    const release = keepLock(deps, name, token);
    try {
      const picked = await pickFor(deps, def, base);
      if (!('path' in picked)) return await finish(name, picked);
      const message = `sync of ${picked.path} started`;
      await finish(name, { ...base, outcome: 'started', message, file: picked }, { run: true });
      const ended = await launch(deps, def, picked, base);
      return await finish(name, ended, {
        run: true,
        ...(ended.outcome === 'synced' ? { synced: picked } : {}),
      });
    } finally {
      release();
      await store.unlock(name, token).catch(() => undefined);
    }
  };
}
