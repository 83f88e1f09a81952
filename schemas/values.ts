/**
 * Dates and numbers as Braze reads them: the one grammar used by the validator (src/validate), the
 * mapping file's column types, the record schemas and the emulator, so that a value one of them
 * accepts is never refused by another (braze-api.md §1.5-1.7; user attributes object page).
 * Regexes and arithmetic only, never Date.parse: it accepts almost anything ("1" is the year 2001),
 * reads zone-less times as local time, and differs between runtimes.
 */

/**
 * ISO 8601 as Braze lists it: `yyyy-MM-dd`, optionally `T` or a space and `HH:mm`, `:ss`, and a
 * fraction after `.` or `:` (Braze's `yyyy-MM-ddTHH:mm:ss:SSSZ`); a zone (`Z`, `+02`, `+0200`,
 * `+02:00`) only after a time. No zone means UTC.
 */
const ISO_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.:](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const US_DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/;
/** Braze's `ddd MM dd HH:mm:ss.TZD YYYY`: a weekday, the month as a number or a name, and the year last. */
const DAY_FIRST =
  /^(?:mon|tue|wed|thu|fri|sat|sun) (\d{2}|[a-z]{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[ .]?(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))? (\d{4})$/i;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Epoch milliseconds of a time Braze accepts, or NaN. The calendar is real: 2024-02-31 is NaN. */
export function parseBrazeTime(value: string): number {
  let m = ISO_LIKE.exec(value);
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    return instant(+y!, +mo!, +d!, +h, +mi, +s, frac, zone);
  }
  m = US_DATE.exec(value);
  if (m) return instant(+m[3]!, +m[1]!, +m[2]!, 0, 0, 0, '', undefined);
  m = DAY_FIRST.exec(value);
  if (m) {
    const [, mon, d, h, mi, s, frac = '', zone, y] = m;
    const month = /^\d/.test(mon!) ? +mon! : MONTHS.indexOf(mon!.toLowerCase()) + 1;
    return instant(+y!, month, +d!, +h!, +mi!, +s!, frac, zone);
  }
  return Number.NaN;
}

export function isBrazeTime(value: string): boolean {
  return !Number.isNaN(parseBrazeTime(value));
}

const PLAIN_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * `YYYY-MM-DD` and nothing else, a real day: what the `dob` profile field takes. Read by character
 * codes: the validator asks it of every dob cell and the emulator twice of every dob it is sent, and
 * the regex's match array and three substrings were most of its cost. `isPlainDateReference` is the
 * plain version it is tested against (test/unit/values.test.ts).
 */
export function isPlainDate(value: string): boolean {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  const y = digits(value, 0, 4);
  const month = digits(value, 5, 7);
  const day = digits(value, 8, 10);
  return y >= 0 && month >= 0 && day >= 0 && validDay(y, month, day);
}

/** The number the ASCII digits in [from, to) spell, or -1 when one is not a digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `isPlainDate` as a regex says it: the reference for its property test. */
export function isPlainDateReference(value: string): boolean {
  const m = PLAIN_DATE.exec(value);
  return m !== null && validDay(+m[1]!, +m[2]!, +m[3]!);
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function validDay(y: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days =
    month === 2 ? (isLeap(y) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

function instant(
  y: number,
  month: number,
  day: number,
  h: number,
  mi: number,
  s: number,
  frac: string,
  zone: string | undefined,
): number {
  if (!validDay(y, month, day) || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const offset = zoneOffsetMinutes(zone);
  if (Number.isNaN(offset)) return Number.NaN;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read the years 0-99 as 1900-1999.
  date.setUTCFullYear(y, month - 1, day);
  date.setUTCHours(h, mi, s, Number(frac.slice(0, 3).padEnd(3, '0')));
  return date.getTime() - offset * 60_000;
}

/** Minutes east of UTC; NaN for an offset no clock has (hours past 23, minutes past 59). */
function zoneOffsetMinutes(zone: string | undefined): number {
  if (zone === undefined || /^(z|utc|gmt)$/i.test(zone)) return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return Number.NaN;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * Numbers. A cell is a number only in JSON's decimal grammar without exponent and without a
 * leading zero (Braze warns that `0130` may be read as octal), and only when a double holds it
 * exactly: at most 15 significant digits, or an integer within ±(2^53-1). Anything else stays the
 * text it is, so nothing silently changes on its way to Braze.
 */
const PLAIN_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
/** Doubles hold 15 significant decimal digits exactly; beyond that a cast could change the value. */
const EXACT_DIGITS = 15;

/** The number an untyped cell stands for, or undefined when it stays text. */
export function plainNumber(cell: string): number | undefined {
  if (!PLAIN_NUMBER.test(cell)) return undefined;
  if (cell.length <= EXACT_DIGITS) return Number(cell);
  const digits = cell.replace('-', '').replace('.', '').replace(/^0+/, '');
  const significant = cell.includes('.') ? digits.replace(/0+$/, '') : digits;
  if (significant.length <= EXACT_DIGITS) return Number(cell);
  const n = Number(cell);
  return !cell.includes('.') && Number.isSafeInteger(n) ? n : undefined;
}

const INTEGER = /^[+-]?\d+$/;
/** Decimal only: no 0x10, 0b11, 1_000, Infinity or NaN, which Number() would all accept. */
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A column typed `integer` (and a purchase's quantity read from a cell): decimal digits with an
 * optional sign, leading zeros allowed (the user said it is a number), within ±(2^53-1).
 */
export function readInteger(text: string): number | undefined {
  const t = text.trim();
  const n = Number(t);
  return INTEGER.test(t) && Number.isSafeInteger(n) ? n : undefined;
}

/** A column typed `float` (and a purchase's price read from a cell): decimal, exponent allowed, finite. */
export function readFloat(text: string): number | undefined {
  const t = text.trim();
  const n = Number(t);
  return FLOAT.test(t) && Number.isFinite(n) ? n : undefined;
}

/** Purchase fields (purchase object page): quantity 1-100, price a finite number, ISO 4217 letters. */
export const QUANTITY_MAX = 100;
export function isQuantity(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= QUANTITY_MAX;
}
export function isPrice(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
const CURRENCY = /^[A-Za-z]{3}$/;
export function isCurrency(value: unknown): value is string {
  return typeof value === 'string' && CURRENCY.test(value);
}
