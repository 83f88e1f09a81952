import { isBrazeTime, isPlainDate } from '../../schemas/values.js';
import { countryCode } from './countries.js';
import { utf8Length } from './nested.js';

/**
 * Braze's default profile fields and what Braze does with a value it does not take (user attributes
 * object page, braze-api.md §1.5, §1.8), shared by the validator (which rejects the row) and the
 * emulator (which does what Braze does):
 * - `error`: the object is refused with a per-object error (bad email, subscription state, push
 *   token, subscription group, location);
 * - `ignored`: the value is not set, without a word ("only valid time zone values are set");
 * - `nulled`: the field is set to null (a country Braze cannot map).
 * `null` always unsets a field and is never a problem.
 */

export type FieldEffect = 'error' | 'ignored' | 'nulled';
export interface FieldVerdict {
  effect: FieldEffect;
  message: string;
}

const SUBSCRIBE_STATES = new Set(['opted_in', 'subscribed', 'unsubscribed']);
const GROUP_STATES = new Set(['subscribed', 'unsubscribed']);
const GENDERS = new Set(['M', 'F', 'O', 'N', 'P']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const FIELD_ERRORS = {
  email: "The value provided for the 'email' field is not a valid email.",
  phone: "'phone' must be a string",
  emailSubscribe: "'email_subscribe' must be one of 'opted_in', 'subscribed' or 'unsubscribed'",
  pushSubscribe: "'push_subscribe' must be one of 'opted_in', 'subscribed' or 'unsubscribed'",
} as const;

type Rule = (value: unknown) => FieldVerdict | undefined;
const error = (message: string): FieldVerdict => ({ effect: 'error', message });
const ignored = (message: string): FieldVerdict => ({ effect: 'ignored', message });
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

const dateRule =
  (name: string): Rule =>
  (v) =>
    typeof v === 'string' && isBrazeTime(v) ? undefined : ignored(`${name} is not a date Braze reads`);

const RULES: Record<string, Rule> = {
  email: (v) => (typeof v === 'string' && EMAIL.test(v) ? undefined : error(FIELD_ERRORS.email)),
  phone: (v) => (isText(v) ? undefined : error(FIELD_ERRORS.phone)),
  email_subscribe: (v) =>
    SUBSCRIBE_STATES.has(v as string) ? undefined : error(FIELD_ERRORS.emailSubscribe),
  push_subscribe: (v) => (SUBSCRIBE_STATES.has(v as string) ? undefined : error(FIELD_ERRORS.pushSubscribe)),
  gender: (v) => (GENDERS.has(v as string) ? undefined : ignored('gender must be one of M, F, O, N, P')),
  dob: (v) => (typeof v === 'string' && isPlainDate(v) ? undefined : ignored('dob must be YYYY-MM-DD')),
  time_zone: (v) =>
    typeof v === 'string' && isTimeZone(v) ? undefined : ignored('time_zone must be an IANA time zone name'),
  country: (v) =>
    typeof v === 'string' && countryCode(v) !== undefined
      ? undefined
      : {
          effect: 'nulled',
          message: 'country is not an ISO 3166-1 alpha-2 code or a country name Braze can map',
        },
  date_of_first_session: dateRule('date_of_first_session'),
  date_of_last_session: dateRule('date_of_last_session'),
  marked_email_as_spam_at: dateRule('marked_email_as_spam_at'),
  push_tokens: pushTokens,
  subscription_groups: subscriptionGroups,
  current_location: (v) =>
    isObject(v) && within(v['longitude'], 180) && within(v['latitude'], 90)
      ? undefined
      : error("'current_location' must be {longitude: -180..180, latitude: -90..90} (BAD_LOCATION_UPDATE)"),
};

/** Profile fields that hold text: an untyped cell keeps its text there (a phone is never a number). */
export const TEXT_FIELDS: ReadonlySet<string> = new Set([
  'first_name',
  'last_name',
  'email',
  'phone',
  'home_city',
  'country',
  'language',
  'gender',
  'dob',
  'time_zone',
  'image_url',
  'email_subscribe',
  'push_subscribe',
  'date_of_first_session',
  'date_of_last_session',
  'marked_email_as_spam_at',
]);

/** Keys that name the user or steer the request: never attributes, never billed. */
export const IDENTITY_KEYS: ReadonlySet<string> = new Set([
  'external_id',
  'user_alias',
  'braze_id',
  '_update_existing_only',
  '_merge_objects',
  'push_token_import',
]);

/** Fields whose changes Braze does not bill (data points page): subscriptions and push tokens. */
export const FREE_FIELDS: ReadonlySet<string> = new Set([
  'email_subscribe',
  'push_subscribe',
  'subscription_groups',
  'push_tokens',
]);

/**
 * The rules by name, in a Map: the emulator asks of every key of every object whether it has a rule
 * (three times), and a Map's lookup cost about two thirds of `Object.hasOwn` on the literal.
 */
const RULE_OF: ReadonlyMap<string, Rule> = new Map(Object.entries(RULES));

/**
 * The fields whose rule only ever answers `error`; every other rule only ever answers `ignored` or
 * `nulled` (test/unit/validate-braze-rules.test.ts checks both on generated values). The emulator
 * asks the first kind while validating an object and the second while planning what a valid object
 * writes, so a rule no longer runs in both (the dob and country rules ran twice per value, the
 * email regex three times; it still runs twice, once more for the identifier check).
 */
const ERROR_ONLY: ReadonlySet<string> = new Set([
  'email',
  'phone',
  'email_subscribe',
  'push_subscribe',
  'push_tokens',
  'subscription_groups',
  'current_location',
]);
/** Every field with a rule (for tests). */
export const FIELD_RULE_NAMES: readonly string[] = [...RULE_OF.keys()];
const ERROR_RULE_OF = new Map([...RULE_OF].filter(([name]) => ERROR_ONLY.has(name)));
const STORE_RULE_OF = new Map([...RULE_OF].filter(([name]) => !ERROR_ONLY.has(name)));

/** The verdict of `name`'s rule in `rules` on a value; null always unsets and is never a problem. */
function verdict(rules: ReadonlyMap<string, Rule>, name: string, value: unknown): FieldVerdict | undefined {
  return value === null || value === undefined ? undefined : rules.get(name)?.(value);
}

/** `profileFieldProblem` when its effect is `error`: what refuses the object. */
export function profileFieldError(name: string, value: unknown): FieldVerdict | undefined {
  return verdict(ERROR_RULE_OF, name, value);
}

/** `profileFieldProblem` when its effect is `ignored` or `nulled`: what changes what is stored. */
export function profileFieldStoreProblem(name: string, value: unknown): FieldVerdict | undefined {
  return verdict(STORE_RULE_OF, name, value);
}

export function hasFieldRule(name: string): boolean {
  return RULE_OF.has(name);
}

/** What Braze would do instead of storing this value, or undefined when it stores it (or there is none). */
export function profileFieldProblem(name: string, value: unknown): FieldVerdict | undefined {
  return verdict(RULE_OF, name, value);
}

function within(v: unknown, limit: number): boolean {
  return typeof v === 'number' && v >= -limit && v <= limit;
}

function pushTokens(v: unknown): FieldVerdict | undefined {
  if (!Array.isArray(v)) return error("'push_tokens' must be an array of {app_id, token} objects");
  for (const item of v) {
    if (!isObject(item)) return error("'push_tokens' items must be objects (BAD_PUSH_TOKEN_VALUE)");
    if (!isText(item['app_id'])) return error("a push token needs a string 'app_id' (BAD_PUSH_TOKEN_APP_ID)");
    if (!isText(item['token'])) return error("a push token needs a string 'token' (BAD_PUSH_TOKEN_STRING)");
    const device = item['device_id'];
    if (device !== undefined && !(typeof device === 'string' && inBytes(device, 8, 255))) {
      return error("a push token's 'device_id' must be 8 to 255 bytes (BAD_DEVICE_ID)");
    }
  }
  return undefined;
}

function subscriptionGroups(v: unknown): FieldVerdict | undefined {
  if (!Array.isArray(v))
    return error("'subscription_groups' must be an array (BAD_SUBSCRIPTION_GROUP_ARRAY)");
  for (const item of v) {
    if (!isObject(item))
      return error("'subscription_groups' items must be objects (BAD_SUBSCRIPTION_GROUP_HASH)");
    if (!isText(item['subscription_group_id'])) {
      return error("a subscription group needs a string 'subscription_group_id' (BAD_SUBSCRIPTION_GROUP_ID)");
    }
    if (!GROUP_STATES.has(item['subscription_state'] as string)) {
      return error(
        "'subscription_state' must be 'subscribed' or 'unsubscribed' (BAD_SUBSCRIPTION_GROUP_STATE)",
      );
    }
    const optIn = item['use_double_opt_in_logic'];
    if (optIn !== undefined && typeof optIn !== 'boolean') {
      return error("'use_double_opt_in_logic' must be a boolean (BAD_SUBSCRIPTION_GROUP_HASH)");
    }
  }
  return undefined;
}

function inBytes(s: string, min: number, max: number): boolean {
  const n = utf8Length(s);
  return n >= min && n <= max;
}

/** Valid names are few, so only they are remembered: a file of made-up zones cannot grow this. */
const KNOWN_ZONES = new Set<string>();
/** The characters of IANA names: newer V8 also takes offsets such as "+01:00", which are not names. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;
function isTimeZone(name: string): boolean {
  if (KNOWN_ZONES.has(name)) return true;
  if (!ZONE_NAME.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    return false;
  }
  KNOWN_ZONES.add(name);
  return true;
}

/** What the profile holds after Braze stores this field: a mapped country code, or the value itself. */
export function storedFieldValue(name: string, value: unknown): unknown {
  return name === 'country' && typeof value === 'string' ? (countryCode(value) ?? null) : value;
}
