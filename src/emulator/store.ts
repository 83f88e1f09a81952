/**
 * In-memory profile store with Braze's identity rules (shared/braze-api.md §1.2-1.3): one primary id per
 * object; email/phone look up only when no primary id is sent; unknown external_id creates a profile unless
 * `_update_existing_only: true`; an alias creates only with an explicit `_update_existing_only: false`.
 * Pure: the clock is injected, no I/O.
 */

import { parseBrazeTime } from '../../schemas/values.js';
import { isNestedValue, jsonSize, NESTED_MAX_BYTES } from '../validate/nested.js';
import { IDENTITY_KEYS } from '../validate/profile-fields.js';
import { applyAttribute, truncate } from './attribute-ops.js';
import { isPlainObject, type JsonObject } from './json.js';

export interface UserAlias {
  alias_name: string;
  alias_label: string;
}

export interface StoredEvent {
  name: string;
  time: string;
  app_id?: string;
  properties?: JsonObject;
}

export interface StoredPurchase {
  product_id: string;
  currency: string;
  price: number;
  quantity: number;
  time: string;
  app_id?: string;
  properties?: JsonObject;
}

export interface Profile {
  braze_id: string;
  external_id: string | undefined;
  user_aliases: UserAlias[];
  attributes: JsonObject;
  events: StoredEvent[];
  purchases: StoredPurchase[];
  /** Monotonic write sequence: "most recently updated" without clock ties. */
  updated: number;
}

type Contact = 'email' | 'phone';

export function aliasKey(alias: UserAlias): string {
  return `${alias.alias_label}\u0000${alias.alias_name}`;
}

export class ProfileStore {
  private readonly byExternalId = new Map<string, Profile>();
  private readonly byBrazeId = new Map<string, Profile>();
  private readonly byAlias = new Map<string, Profile>();
  private readonly byContact: Record<Contact, Map<string, Set<Profile>>> = {
    email: new Map(),
    phone: new Map(),
  };
  private seq = 0;
  private ids = 0;
  /** Nested updates dropped because the stored value would pass 100 KB. */
  overCap = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.byBrazeId.size;
  }

  /**
   * Applies `writes` (what Braze writes for `o`, see writes.ts; `o` itself names the user and holds
   * the flags). False when the object names nobody and may not create anybody (update-only), or is
   * a push-token import.
   */
  applyAttributes(o: JsonObject, writes: JsonObject = o): boolean {
    if (o['push_token_import'] === true) return false;
    const p = this.resolve(o);
    if (!p) return false;
    const merge = o['_merge_objects'] === true;
    for (const key in writes) {
      if (IDENTITY_KEYS.has(key)) continue;
      const value = writes[key];
      if (key === 'email' || key === 'phone') this.setContact(p, key, value);
      else if (isNestedValue(value)) this.applyNested(p, key, value, merge);
      else applyAttribute(p.attributes, key, value, merge);
    }
    this.touch(p);
    return true;
  }

  /** Nested updates that would grow the stored value past 100 KB are dropped (and counted), as Braze does. */
  private applyNested(p: Profile, key: string, value: unknown, merge: boolean): void {
    const before = p.attributes[key];
    const kept = before === undefined ? undefined : structuredClone(before);
    applyAttribute(p.attributes, key, value, merge);
    if (jsonSize(p.attributes[key]) <= NESTED_MAX_BYTES) return;
    if (kept === undefined) delete p.attributes[key];
    else p.attributes[key] = kept;
    this.overCap++;
  }

  appendEvent(o: JsonObject): boolean {
    const p = this.resolve(o);
    if (!p) return false;
    const event: StoredEvent = { name: truncate(o['name'] as string), time: this.clampTime(o['time']) };
    copyOptional(event, o);
    p.events.push(event);
    this.touch(p);
    return true;
  }

  appendPurchase(o: JsonObject): boolean {
    const p = this.resolve(o);
    if (!p) return false;
    const purchase: StoredPurchase = {
      product_id: o['product_id'] as string,
      currency: (o['currency'] as string).toUpperCase(),
      price: o['price'] as number,
      quantity: typeof o['quantity'] === 'number' ? o['quantity'] : 1,
      time: this.clampTime(o['time']),
    };
    copyOptional(purchase, o);
    p.purchases.push(purchase);
    this.touch(p);
    return true;
  }

  findByExternalId(id: string): Profile | undefined {
    return this.byExternalId.get(id);
  }

  findByBrazeId(id: string): Profile | undefined {
    return this.byBrazeId.get(id);
  }

  findByAlias(alias: UserAlias): Profile | undefined {
    return this.byAlias.get(aliasKey(alias));
  }

  /** Braze's rule: the most recently updated match that has an external_id, else the most recent match. */
  findByContact(kind: Contact, value: string): Profile | undefined {
    const set = this.byContact[kind].get(contactKey(kind, value));
    let best: Profile | undefined;
    let bestWithId: Profile | undefined;
    for (const p of set ?? []) {
      if (!best || p.updated > best.updated) best = p;
      if (p.external_id !== undefined && (!bestWithId || p.updated > bestWithId.updated)) bestWithId = p;
    }
    return bestWithId ?? best;
  }

  profiles(): IterableIterator<Profile> {
    return this.byBrazeId.values();
  }

  create(init: { external_id?: string; alias?: UserAlias }): Profile {
    this.ids++;
    const p: Profile = {
      braze_id: this.ids.toString(16).padStart(24, '0'),
      external_id: undefined,
      user_aliases: [],
      attributes: {},
      events: [],
      purchases: [],
      updated: 0,
    };
    this.byBrazeId.set(p.braze_id, p);
    if (init.external_id !== undefined) this.setExternalId(p, init.external_id);
    if (init.alias) this.addAlias(p, init.alias);
    this.touch(p);
    return p;
  }

  setExternalId(p: Profile, id: string | undefined): void {
    if (p.external_id !== undefined) this.byExternalId.delete(p.external_id);
    p.external_id = id;
    if (id !== undefined) this.byExternalId.set(id, p);
  }

  addAlias(p: Profile, alias: UserAlias): void {
    const copy = { alias_name: alias.alias_name, alias_label: alias.alias_label };
    p.user_aliases.push(copy);
    this.byAlias.set(aliasKey(copy), p);
  }

  remove(p: Profile): void {
    this.byBrazeId.delete(p.braze_id);
    this.setExternalId(p, undefined);
    for (const alias of p.user_aliases) this.byAlias.delete(aliasKey(alias));
    this.setContact(p, 'email', null);
    this.setContact(p, 'phone', null);
  }

  clear(): void {
    this.byExternalId.clear();
    this.byBrazeId.clear();
    this.byAlias.clear();
    this.byContact.email.clear();
    this.byContact.phone.clear();
    this.seq = 0;
    this.ids = 0;
    this.overCap = 0;
  }

  touch(p: Profile): void {
    p.updated = ++this.seq;
  }

  setContact(p: Profile, kind: Contact, value: unknown): void {
    const index = this.byContact[kind];
    const old = p.attributes[kind];
    if (old === value) return;
    if (typeof old === 'string') index.get(contactKey(kind, old))?.delete(p);
    if (typeof value !== 'string') {
      delete p.attributes[kind];
      return;
    }
    p.attributes[kind] = value;
    const key = contactKey(kind, value);
    const set = index.get(key);
    if (set) set.add(p);
    else index.set(key, new Set([p]));
  }

  private resolve(o: JsonObject): Profile | undefined {
    const updateOnly = o['_update_existing_only'];
    const ext = o['external_id'];
    if (typeof ext === 'string') {
      const found = this.byExternalId.get(ext);
      return found ?? (updateOnly === true ? undefined : this.create({ external_id: ext }));
    }
    const alias = o['user_alias'];
    if (isPlainObject(alias)) {
      const found = this.findByAlias(alias as unknown as UserAlias);
      // Aliases are update-only unless the caller explicitly says otherwise.
      return (
        found ?? (updateOnly === false ? this.create({ alias: alias as unknown as UserAlias }) : undefined)
      );
    }
    const brazeId = o['braze_id'];
    if (typeof brazeId === 'string') return this.byBrazeId.get(brazeId);
    for (const kind of ['email', 'phone'] as const) {
      const value = o[kind];
      if (typeof value !== 'string') continue;
      const found = this.findByContact(kind, value);
      if (found || updateOnly === true) return found;
      const created = this.create({});
      this.setContact(created, kind, value);
      return created;
    }
    return undefined;
  }

  private clampTime(value: unknown): string {
    const t = parseBrazeTime(value as string);
    const now = this.now();
    return new Date(Math.min(t, now)).toISOString();
  }
}

/**
 * The profile an object names, as a key, by the identifier the store resolves it by (external_id, alias,
 * braze_id, then email, then phone); undefined when it names none. Without looking anything up, so two
 * identifiers of one stored profile (an external_id and its email) are two keys.
 */
export function identityKey(o: unknown): string | undefined {
  if (!isPlainObject(o)) return undefined;
  const ext = o['external_id'];
  if (typeof ext === 'string') return `e:${ext}`;
  const alias = o['user_alias'];
  if (isPlainObject(alias)) return `a:${aliasKey(alias as unknown as UserAlias)}`;
  const brazeId = o['braze_id'];
  if (typeof brazeId === 'string') return `b:${brazeId}`;
  for (const kind of ['email', 'phone'] as const) {
    const value = o[kind];
    if (typeof value === 'string') return `${kind}:${contactKey(kind, value)}`;
  }
  return undefined;
}

function contactKey(kind: Contact, value: string): string {
  return kind === 'email' ? value.toLowerCase() : value.replace(/[^\d+]/g, '');
}

function copyOptional(target: { app_id?: string; properties?: JsonObject }, o: JsonObject): void {
  const appId = o['app_id'];
  if (typeof appId === 'string') target.app_id = appId;
  const props = o['properties'];
  if (isPlainObject(props)) target.properties = props;
}
