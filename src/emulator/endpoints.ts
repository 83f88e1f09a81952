/**
 * Route table: every Braze path the emulator answers, with its rate-limit bucket. /users/track and
 * /users/track/bulk share processTrack, each with its own limits (75 objects and 4 MB -> 413; 1,000 objects,
 * 100 per user and 2 MB -> 400). The other user-data endpoints answer a plain success (applying deletes,
 * aliases and identifies to the store) so a pipeline can exercise them; their per-request caps follow
 * shared/braze-api.md §3.
 */
import { isPlainObject, type JsonObject } from './json.js';
import type { BucketName } from './options.js';
import type { Profile, ProfileStore, UserAlias } from './store.js';
import { type EndpointResult, processTrack, type TrackContext } from './track.js';
import { isAlias } from './validate.js';

/** What a handler may use: the store, and the track context of each of the two track endpoints. */
export interface EndpointContext {
  store: ProfileStore | null;
  track: TrackContext;
  bulk: TrackContext;
}

export interface Route {
  bucket: BucketName;
  /** The API key permission the endpoint needs (shared/braze-api.md §3). */
  permission: string;
  /** Which body cap applies: maxBodyBytes (413 above it) or bulkMaxBodyBytes (400 above it). */
  bodyCap: 'standard' | 'bulk';
  handle: (body: unknown, ctx: EndpointContext) => EndpointResult;
}

const MAX_IDS = 50;
const TOO_MANY_IDS = { status: 400, body: { message: 'The max number of ids per request was exceeded' } };

function list(body: unknown, key: string): unknown[] {
  const value = isPlainObject(body) ? body[key] : undefined;
  return Array.isArray(value) ? value : [];
}

function ok(extra: JsonObject, status = 201): EndpointResult {
  return { status, body: { ...extra, message: 'success' } };
}

/** Each user_aliases/aliases entry that is a valid alias, else undefined. */
function aliasOf(value: unknown): UserAlias | undefined {
  if (isAlias(value)) return value;
  if (isPlainObject(value) && isAlias(value['user_alias'])) return value['user_alias'];
  return undefined;
}

function deleteUsers(body: unknown, { store }: EndpointContext): EndpointResult {
  const ext = list(body, 'external_ids');
  const aliases = list(body, 'user_aliases');
  const brazeIds = list(body, 'braze_ids');
  if (ext.length + aliases.length + brazeIds.length > MAX_IDS) return TOO_MANY_IDS;
  const found = new Set<Profile>();
  for (const id of ext) if (typeof id === 'string') addIf(found, store?.findByExternalId(id));
  for (const a of aliases) if (isAlias(a)) addIf(found, store?.findByAlias(a));
  for (const id of brazeIds) if (typeof id === 'string') addIf(found, store?.findByBrazeId(id));
  for (const p of found) store?.remove(p);
  return ok({ deleted: found.size });
}

function addIf(set: Set<Profile>, p: Profile | undefined): void {
  if (p) set.add(p);
}

/** Identify: the alias-only profile gets the external_id, or is merged into the profile that has it. */
function identify(body: unknown, { store }: EndpointContext): EndpointResult {
  const entries = list(body, 'aliases_to_identify');
  if (entries.length > MAX_IDS) return TOO_MANY_IDS;
  let processed = 0;
  for (const entry of entries) {
    const alias = aliasOf(entry);
    const externalId = isPlainObject(entry) ? entry['external_id'] : undefined;
    if (!alias || typeof externalId !== 'string') continue;
    processed++;
    const aliased = store?.findByAlias(alias);
    if (!store || !aliased || aliased.external_id === externalId) continue;
    const target = store.findByExternalId(externalId);
    if (!target) store.setExternalId(aliased, externalId);
    else mergeInto(store, aliased, target);
  }
  return ok({ aliases_processed: processed });
}

function mergeInto(store: ProfileStore, from: Profile, to: Profile): void {
  store.remove(from);
  for (const [key, value] of Object.entries(from.attributes)) {
    if (key === 'email' || key === 'phone') {
      if (to.attributes[key] === undefined) store.setContact(to, key, value);
    } else if (!(key in to.attributes)) to.attributes[key] = value;
  }
  for (const alias of from.user_aliases) store.addAlias(to, alias);
  to.events.push(...from.events);
  to.purchases.push(...from.purchases);
  store.touch(to);
}

function aliasNew(body: unknown, { store }: EndpointContext): EndpointResult {
  const entries = list(body, 'user_aliases');
  if (entries.length > MAX_IDS) return TOO_MANY_IDS;
  let processed = 0;
  for (const entry of entries) {
    if (!isAlias(entry)) continue;
    processed++;
    if (!store || store.findByAlias(entry)) continue;
    const externalId = (entry as JsonObject)['external_id'];
    const owner = typeof externalId === 'string' ? store.findByExternalId(externalId) : undefined;
    if (owner) store.addAlias(owner, entry);
    else if (typeof externalId !== 'string') store.create({ alias: entry });
  }
  return ok({ aliases_processed: processed });
}

function rename(body: unknown, { store }: EndpointContext): EndpointResult {
  const renames = list(body, 'external_id_renames');
  if (renames.length > MAX_IDS) return TOO_MANY_IDS;
  const done: string[] = [];
  const errors: string[] = [];
  for (const r of renames) {
    const from = isPlainObject(r) ? r['current_external_id'] : undefined;
    const to = isPlainObject(r) ? r['new_external_id'] : undefined;
    const p = typeof from === 'string' ? store?.findByExternalId(from) : undefined;
    if (typeof from !== 'string' || typeof to !== 'string' || (store && (!p || store.findByExternalId(to)))) {
      errors.push(`cannot rename ${String(from)} to ${String(to)}`);
      continue;
    }
    if (store && p) store.setExternalId(p, to);
    done.push(from);
  }
  return ok({ external_ids: done, rename_errors: errors });
}

function exportIds(body: unknown, { store }: EndpointContext): EndpointResult {
  const ids = list(body, 'external_ids');
  if (ids.length > MAX_IDS) return TOO_MANY_IDS;
  const users: JsonObject[] = [];
  const invalid: unknown[] = [];
  for (const id of ids) {
    const p = typeof id === 'string' ? store?.findByExternalId(id) : undefined;
    if (!p) invalid.push(id);
    else
      users.push({
        external_id: p.external_id,
        braze_id: p.braze_id,
        user_aliases: p.user_aliases,
        ...p.attributes,
      });
  }
  return { status: 201, body: { users, invalid_user_ids: invalid, message: 'success' } };
}

const plain =
  (status = 201) =>
  (): EndpointResult =>
    ok({}, status);

const route = (
  bucket: BucketName,
  permission: string,
  handle: Route['handle'],
  bodyCap: Route['bodyCap'] = 'standard',
): Route => ({ bucket, permission, bodyCap, handle });

export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/users/track', route('track', 'users.track', (body, ctx) => processTrack(body, ctx.track))],
  [
    '/users/track/bulk',
    route('bulk', 'users.track.bulk', (body, ctx) => processTrack(body, ctx.bulk), 'bulk'),
  ],
  ['/users/delete', route('users', 'users.delete', deleteUsers)],
  ['/users/identify', route('users', 'users.identify', identify)],
  ['/users/alias/new', route('users', 'users.alias.new', aliasNew)],
  ['/users/alias/update', route('users', 'users.alias.update', plain())],
  ['/users/merge', route('users', 'users.merge', plain(202))],
  ['/users/external_ids/rename', route('external-ids', 'users.external_ids.rename', rename)],
  [
    '/users/external_ids/remove',
    route('external-ids', 'users.external_ids.remove', () => ok({ removed_ids: [], removal_errors: [] })),
  ],
  ['/subscription/status/set', route('subscription', 'subscription.status.set', plain())],
  ['/v2/subscription/status/set', route('subscription', 'subscription.status.set', plain())],
  ['/users/export/ids', route('export-ids', 'users.export.ids', exportIds)],
  ['/users/export/segment', route('default', 'users.export.segment', plain())],
  ['/users/export/global_control_group', route('default', 'users.export.global_control_group', plain())],
]);
