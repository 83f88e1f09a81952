import type { UserRecord } from '../../schemas/record.js';

/**
 * Braze bills one data point per attribute set, event and purchase; external_id is free
 * (braze-api.md §5.1). Nested objects and per-value array operations can cost more, so this is a
 * lower bound for those, exact for flat rows. For --dry-run.
 */
export function estimateDataPoints(record: UserRecord): number {
  let points = (record.events?.length ?? 0) + (record.purchases?.length ?? 0);
  if (record.attributes) {
    for (const key in record.attributes) if (Object.hasOwn(record.attributes, key)) points++;
  }
  return points;
}
