/**
 * Braze's accepted time formats: ISO 8601 plus `yyyy-MM-ddTHH:mm:ss:SSSZ` (colon before the milliseconds),
 * `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-dd` and `MM/dd/yyyy`. No zone means UTC. Date.parse is not used on its
 * own because it accepts almost anything ("1" is the year 2001) and reads zone-less times as local.
 */
const ISO_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.:](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const US_DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/;

/** Epoch milliseconds, or NaN when the string is not a time Braze would accept. */
export function parseBrazeTime(value: string): number {
  const iso = ISO_LIKE.exec(value);
  if (iso) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = iso;
    const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
    const local = utc(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), ms);
    return local - zoneOffsetMs(zone);
  }
  const us = US_DATE.exec(value);
  if (us) return utc(Number(us[3]), Number(us[1]), Number(us[2]), 0, 0, 0, 0);
  return Number.NaN;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return Number.NaN;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC rolls 31 Feb over into March; Braze would not.
  return new Date(t).getUTCDate() === d || s === 60 ? t : Number.NaN;
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}
