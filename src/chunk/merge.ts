/**
 * When two attribute objects of one user, one after the other in the file, may travel as one object
 * in one request: only when that one object does to a profile exactly what the two would do sent in
 * order. Braze applies an object's keys as writes to the profile; a later plain value of a key
 * replaces whatever the earlier object did to it, so those fold. Anything whose effect depends on
 * what is stored (an `inc`, an array `add`/`remove`, `$add`/`$remove`/`$update`, a nested object
 * deep-merged with `_merge_objects`, a list of subscription or push-token updates) does not, when
 * both objects touch the key: the later one must then go in a later request.
 *
 * A fast path with a plain reference: test/unit/chunk-merge.test.ts checks, on generated objects,
 * that whenever `canMerge` says yes, the emulator's profile store (Braze's rules) ends the same
 * after `merged` as after the two in order.
 */

/** Keys that say how an object applies, not what it writes: both objects must agree on them. */
const FLAGS = ['_update_existing_only', '_merge_objects', 'push_token_import'] as const;

/** Attributes whose value is a list of updates to what is stored, not a value that replaces it. */
const UPDATE_LISTS: ReadonlySet<string> = new Set(['subscription_groups', 'push_tokens']);

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value whose effect does not depend on what the profile holds: a later one simply replaces. */
function replaces(key: string, value: unknown, mergeObjects: boolean): boolean {
  if (UPDATE_LISTS.has(key)) return false;
  if (!isObject(value)) return true;
  // An object is an operator (inc, add/remove, $add/$remove/$update) or a nested attribute; a nested
  // attribute replaces the stored one unless _merge_objects deep-merges it.
  for (const k in value) {
    if (k === 'inc' || k === 'add' || k === 'remove' || k === '$add' || k === '$remove' || k === '$update')
      return false;
  }
  return !mergeObjects;
}

export function canMerge(earlier: Obj, later: Obj): boolean {
  for (const flag of FLAGS) {
    if (earlier[flag] !== later[flag] || Object.hasOwn(earlier, flag) !== Object.hasOwn(later, flag))
      return false;
  }
  const mergeObjects = later['_merge_objects'] === true;
  for (const key in later) {
    if (key === 'external_id' || !Object.hasOwn(earlier, key)) continue;
    if (!replaces(key, later[key], mergeObjects)) return false;
  }
  return true;
}

/** The one object that does what `earlier` then `later` do (only when canMerge said so). */
export function merged<T extends Obj>(earlier: T, later: T): T {
  return { ...earlier, ...later };
}
