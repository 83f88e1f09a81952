import { Problem } from './checks.js';
import { isNestedValue, jsonSize, NESTED_MAX_BYTES, nestedProblem } from './nested.js';
import { type FieldEffect, hasFieldRule, profileFieldProblem } from './profile-fields.js';

/**
 * Braze's own rules for one attribute value, as the emulator applies them (profile-fields.ts,
 * nested.ts): a row holding a value Braze would refuse, ignore, null or drop is rejected here with
 * the reason, instead of costing a request and arriving changed or not at all.
 */

const EFFECT: Record<FieldEffect, string> = {
  error: 'Braze would refuse the whole object',
  ignored: 'Braze would ignore the value',
  nulled: 'Braze would store null',
};

/** `name` is the attribute as sent, `field` where it came from (column or key) for the message. */
export function checkAttribute(name: string, value: unknown, field: string): Problem | undefined {
  if (value === null) return undefined;
  if (hasFieldRule(name)) {
    const verdict = profileFieldProblem(name, value);
    if (!verdict) return undefined;
    return new Problem('bad_profile_field', `${field}: ${verdict.message}; ${EFFECT[verdict.effect]}`, field);
  }
  if (typeof value !== 'object' || !isNestedValue(value)) return undefined;
  const why = nestedProblem(value);
  if (why) {
    const message = `${field}: ${why}; Braze would drop every nested attribute of the request`;
    return new Problem('bad_nested_value', message, field);
  }
  return sizeProblem(value, NESTED_MAX_BYTES, field, 'a nested attribute');
}

/** Event properties may take 100 KB, purchase properties 50 KB (event and purchase object pages). */
export const PROPERTIES_MAX_BYTES = { events: 100 * 1024, purchases: 50 * 1024 } as const;

export function sizeProblem(value: unknown, max: number, field: string, what: string): Problem | undefined {
  const size = jsonSize(value);
  if (size <= max) return undefined;
  const message = `${field} is ${size} bytes as JSON; Braze takes at most ${max / 1024} KB for ${what}`;
  return new Problem('value_too_large', message, field);
}
