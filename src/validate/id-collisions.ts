/**
 * external_ids that are different strings but the same to a person: "José" in NFC and NFD, " u1"
 * and "u1", "u1" with a zero-width space, "USER-1" and "user-1". Braze treats ids as exact strings,
 * so each becomes its own profile without a word; the dry run and the run summary report them.
 *
 * Memory is bounded for 10M-row files: an open-addressing table in one Uint32Array holds, per
 * normalised form, a 64-bit hash of the form, a 32-bit tag of the first raw id (0 when the raw id
 * was already normal) and that id's line: 16 bytes a slot, at most 3/4 full, grown as needed up to
 * `maxForms` (16 MB for the default 750,000): doubled while small, then straight to its largest size
 * (see JUMP_SLOTS). Past
 * that, new forms are not remembered (`untracked` says how many rows were only checked against the
 * forms already held). A 64-bit hash makes a false collision between 10M distinct forms a few in a
 * million; two raw ids whose 31-bit tags clash are missed as a collision at about one in 2^31.
 */

/** Characters with no look of their own: zero-width spaces and joiners, soft hyphen, BOM, variation selectors... */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/** The form two ids share when a person would call them the same: NFC, no invisible characters, trimmed, case-folded. */
export function normalizeId(id: string): string {
  if (isPlainAscii(id)) return id;
  const folded = id.normalize('NFC').replace(INVISIBLE, '').trim().toUpperCase().toLowerCase();
  return folded.normalize('NFC');
}

/** Printable ASCII without capitals and without spaces at either end is its own normal form. */
function isPlainAscii(id: string): boolean {
  const n = id.length;
  if (n === 0 || id.charCodeAt(0) === 32 || id.charCodeAt(n - 1) === 32) return false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c < 32 || c > 126 || (c >= 65 && c <= 90)) return false;
  }
  return true;
}

export interface IdCollisionExample {
  normalized: string;
  /** The first id seen with this form (its text when it was normal or is still remembered). */
  first: { line: number; id: string | undefined };
  /** The first later row whose id differs from it. */
  other: { line: number; id: string };
}

export interface IdCollisionReport {
  /** Rows whose id differs from the first id seen with the same normalised form. */
  collidingRows: number;
  /** Normalised forms seen with more than one raw id. */
  groups: number;
  examples: IdCollisionExample[];
  /** Distinct normalised forms remembered. */
  tracked: number;
  /** Rows with a form first seen after the table was full: compared with the forms held only. */
  untracked: number;
  /** Bytes the table takes (16 MB at most with the default maxForms). */
  tableBytes: number;
}

export interface IdCollisionTracker {
  observe(externalId: string, line: number): void;
  report(): IdCollisionReport;
}

export interface IdCollisionOptions {
  /** Forms remembered at most (16 bytes a slot, the table at most 3/4 full). Default 750,000: 16 MB. */
  maxForms?: number;
  /** Examples kept for the report. Default 10. */
  maxExamples?: number;
}

const WORDS = 4; // hash high, hash low, raw tag, line + 1 (0: empty; top bit: already reported)
const REPORTED = 0x8000_0000;
/**
 * Tables double up to this many slots (1 MB); a table this size that fills grows straight to the
 * largest (the slots `maxForms` takes). While a table grows, the old one and the new one are both
 * resident until a GC frees the old: doubling 8 MB into 16 MB at 393,216 forms held 24 MB at once,
 * and that moment was the whole `run` process's peak RSS on a 1M-row file (+8 MB for a third of a
 * second, measured with /proc/PID/status). Jumping from 1 MB holds at most 17 MB at once, early in
 * the run; the cost is a table of its full size (16 MB by default) from 49,152 distinct forms on.
 */
const JUMP_SLOTS = 65_536;

/** Whether `slots` slots hold `forms` forms at most 3/4 full. */
const holds = (slots: number, forms: number): boolean => forms * 4 <= slots * 3;

/** The slots a table needs for `forms` forms (a power of two, 1,024 at least). */
function slotsFor(forms: number): number {
  let slots = 1024;
  while (!holds(slots, forms)) slots *= 2;
  return slots;
}
/** First raw ids that were not normal, kept for examples up to this many. */
const MAX_REMEMBERED_RAW = 65_536;

export function createIdCollisionTracker(options: IdCollisionOptions = {}): IdCollisionTracker {
  const maxForms = options.maxForms ?? 750_000;
  const maxExamples = options.maxExamples ?? 10;
  const maxSlots = slotsFor(maxForms);
  let table = new Uint32Array(1024 * WORDS);
  let used = 0;
  /** First raw ids that were not normal, by their form's hash, for the examples. */
  const rawOf = new Map<string, string>();
  const report: IdCollisionReport = {
    collidingRows: 0,
    groups: 0,
    examples: [],
    tracked: 0,
    untracked: 0,
    tableBytes: 0,
  };

  /** The slot holding (hi, lo), or the empty slot where it would go. */
  function find(t: Uint32Array, hi: number, lo: number): number {
    const mask = t.length / WORDS - 1;
    for (let slot = (lo ^ hi) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * WORDS;
      if (t[at + 3] === 0 || (t[at] === hi && t[at + 1] === lo)) return at;
    }
  }

  /** Grows the table while it may still grow (see JUMP_SLOTS), so it stays at most 3/4 full. */
  function roomFor(): boolean {
    if (used >= maxForms) return false;
    const slots = table.length / WORDS;
    if (holds(slots, used + 1)) return true;
    // used < maxForms here, so slots < maxSlots: both powers of two, maxSlots at least twice slots.
    const bigger = new Uint32Array((slots >= JUMP_SLOTS ? maxSlots : slots * 2) * WORDS);
    for (let at = 0; at < table.length; at += WORDS) {
      if (table[at + 3] !== 0)
        bigger.set(table.subarray(at, at + WORDS), find(bigger, table[at]!, table[at + 1]!));
    }
    table = bigger;
    return true;
  }

  function collide(at: number, normalized: string, raw: string, line: number): void {
    report.collidingRows++;
    const mark = table[at + 3]!;
    if ((mark & REPORTED) !== 0) return;
    table[at + 3] = mark | REPORTED;
    report.groups++;
    if (report.examples.length >= maxExamples) return;
    const firstRaw = table[at + 2] === 0 ? normalized : rawOf.get(`${table[at]},${table[at + 1]}`);
    report.examples.push({
      normalized,
      first: { line: (mark & ~REPORTED) - 1, id: firstRaw },
      other: { line, id: raw },
    });
  }

  return {
    observe(raw, line) {
      const normalized = normalizeId(raw);
      const [hi, lo] = hash64(normalized);
      const tag = normalized === raw ? 0 : hash31(raw) | 1;
      let at = find(table, hi, lo);
      if (table[at + 3] !== 0) {
        if (table[at + 2] !== tag) collide(at, normalized, raw, line);
        return;
      }
      if (!roomFor()) {
        report.untracked++;
        return;
      }
      at = find(table, hi, lo);
      table[at] = hi;
      table[at + 1] = lo;
      table[at + 2] = tag;
      table[at + 3] = (line + 1) & ~REPORTED;
      used++;
      if (tag !== 0 && rawOf.size < MAX_REMEMBERED_RAW) rawOf.set(`${hi},${lo}`, detached(raw));
    },
    report: () => ({
      ...report,
      examples: [...report.examples],
      tracked: used,
      tableBytes: table.byteLength,
    }),
  };
}

/**
 * A copy of `s` that holds none of the string it was cut from. The CSV reader cuts an ASCII row's
 * cells from one string of the whole record (src/read/csv-fast.ts), and V8 keeps a cut of 13
 * characters or more as a view of that string: kept for the whole run, each remembered id would
 * hold its row. Joining makes a new string and the cut is taken from that one.
 */
function detached(s: string): string {
  return ` ${s}`.slice(1);
}

/** Two independent 32-bit FNV-1a passes, each finished with murmur3's avalanche. */
function hash64(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return [avalanche(a), avalanche(b ^ 0x9e3779b9)];
}

function hash31(s: string): number {
  let h = 0x2545f491;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return avalanche(h) >>> 1;
}

function avalanche(h: number): number {
  let x = h;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Lines for the dry run and the summary; none when nothing collides. */
export function describeIdCollisions(r: IdCollisionReport): string[] {
  if (r.collidingRows === 0 && r.untracked === 0) return [];
  const lines =
    r.collidingRows === 0
      ? []
      : [
          `${r.collidingRows} row(s) have an external_id that differs from an earlier one only by Unicode form, spaces, invisible characters or case (${r.groups} group(s)); Braze keeps each as its own profile`,
          ...r.examples.map(
            (e) =>
              `  line ${e.other.line} ${JSON.stringify(e.other.id)} ~ line ${e.first.line}${e.first.id === undefined ? '' : ` ${JSON.stringify(e.first.id)}`}`,
          ),
        ];
  if (r.untracked > 0) {
    lines.push(
      `  (${r.tracked} distinct ids remembered; ${r.untracked} row(s) after that were compared with those only)`,
    );
  }
  return lines;
}
