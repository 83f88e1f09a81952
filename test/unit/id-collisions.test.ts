import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createIdCollisionTracker,
  describeIdCollisions,
  normalizeId,
} from '../../src/validate/id-collisions.js';
import { settings } from '../helpers/property.js';

function track(ids: string[], options = {}) {
  const t = createIdCollisionTracker(options);
  for (const [i, id] of ids.entries()) t.observe(id, i + 2);
  return t.report();
}

describe('external_id collisions after normalisation', () => {
  it.each([
    ['Unicode form (NFC and NFD)', 'José', 'Jose\u0301'],
    ['padding', 'u1', ' u1 '],
    ['invisible characters', 'u1', 'u\u200b1'],
    ['a BOM', 'u1', '\ufeffu1'],
    ['case', 'USER-1', 'user-1'],
    ['case beyond ASCII', 'STRASSE', 'straße'],
  ])('%s: two ids, one person', (_what, a, b) => {
    const r = track([a, 'other', b]);
    expect(r).toMatchObject({ collidingRows: 1, groups: 1, tracked: 2, untracked: 0 });
    expect(r.examples).toEqual([
      { normalized: normalizeId(a), first: { line: 2, id: a }, other: { line: 4, id: b } },
    ]);
  });

  it('the same id again is the same user, not a collision', () => {
    expect(track(['u1', 'u1', 'User-2', 'User-2'])).toMatchObject({ collidingRows: 0, groups: 0 });
  });

  it('counts rows and groups, and says so in one line plus examples', () => {
    const r = track(['a', 'A', ' a', 'b', 'B', 'A'], { maxExamples: 1 });
    expect(r).toMatchObject({ collidingRows: 4, groups: 2 });
    expect(describeIdCollisions(r)).toEqual([
      '4 row(s) have an external_id that differs from an earlier one only by Unicode form, spaces, invisible characters or case (2 group(s)); Braze keeps each as its own profile',
      '  line 3 "A" ~ line 2 "a"',
    ]);
    expect(describeIdCollisions(track(['a', 'b']))).toEqual([]);
  });

  it('memory is bounded: past maxForms new forms are counted as untracked, held ones still checked', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
    const r = track([...ids, 'USER-5', 'user-19999x'], { maxForms: 1000 });
    // 1000 forms take 2048 slots: a table is at most 3/4 full
    expect(r).toMatchObject({
      tracked: 1000,
      untracked: 19_001,
      collidingRows: 1,
      groups: 1,
      tableBytes: 2048 * 16,
    });
  });

  it('doubles its table up to 1 MB, then grows straight to its largest size, losing no form', () => {
    const t = createIdCollisionTracker();
    const sizes = new Set<number>();
    for (let i = 0; i < 60_000; i++) {
      t.observe(`u${i}`, i + 2);
      sizes.add(t.report().tableBytes);
    }
    // 1,024 slots of 16 bytes doubled up to 65,536 (49,152 forms), then the 2^20 slots of 750,000 forms
    const doubled = Array.from({ length: 7 }, (_, k) => 1024 * 2 ** k * 16);
    expect([...sizes]).toEqual([...doubled, 2 ** 20 * 16]);
    // Forms from before the jump and after it are still found.
    t.observe('U7', 60_002);
    t.observe('U59999', 60_003);
    t.observe('u60000', 60_004);
    expect(t.report()).toMatchObject({ tracked: 60_001, collidingRows: 2, groups: 2, untracked: 0 });
  });

  it('a 1M-id file: the first 750,000 forms in 16 MB, the rest compared with those', () => {
    const t = createIdCollisionTracker();
    for (let i = 0; i < 1_000_000; i++) t.observe(`u${i}`, i + 2);
    t.observe('U7', 1_000_002);
    t.observe('U999999', 1_000_003);
    const r = t.report();
    expect(r).toMatchObject({ tracked: 750_000, untracked: 250_001, collidingRows: 1 });
    expect(r.tableBytes).toBe(2 ** 20 * 16);
  });
});

/** The normalisation written out: NFC, invisible characters out, trimmed, case-folded, NFC again. */
function plainNormalize(id: string): string {
  const folded = id
    .normalize('NFC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .trim();
  return folded.toUpperCase().toLowerCase().normalize('NFC');
}

/** The plain way: every normalised form with the first raw id seen, in a Map. */
function reference(ids: string[]) {
  const first = new Map<string, string>();
  const reported = new Set<string>();
  let collidingRows = 0;
  for (const id of ids) {
    const n = plainNormalize(id);
    const seen = first.get(n);
    if (seen === undefined) first.set(n, id);
    else if (seen !== id) {
      collidingRows++;
      reported.add(n);
    }
  }
  return { collidingRows, groups: reported.size, tracked: first.size };
}

describe('the tracker against a plain Map', () => {
  const base = fc.constantFrom('u1', 'José', 'STRASSE', 'ab', 'x-1', 'ǅ', 'Ω', 'i̇');
  const variant = fc
    .tuple(
      base,
      fc.constantFrom('', ' ', '\u200b', '\ufeff', '\u00ad'),
      fc.constantFrom('NFC', 'NFD', 'upper', 'lower'),
    )
    .map(([id, pad, form]) => {
      const cased =
        form === 'upper' ? id.toUpperCase() : form === 'lower' ? id.toLowerCase() : id.normalize(form);
      return pad + cased;
    });
  it('counts the same colliding rows, groups and forms (10,000 id lists)', () => {
    fc.assert(
      fc.property(fc.array(variant, { maxLength: 12 }), (ids) => {
        const r = track(ids);
        expect({ collidingRows: r.collidingRows, groups: r.groups, tracked: r.tracked }).toEqual(
          reference(ids),
        );
      }),
      settings,
    );
  });

  it('normalizeId: its ASCII shortcut gives what the full normalisation gives', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom(' ', 'A', 'z', '-', '~', '\t', 'É'),
            fc.string({ unit: 'binary-ascii', maxLength: 1 }),
          ),
          maxLength: 10,
        }),
        (id) => {
          expect(normalizeId(id)).toBe(plainNormalize(id));
        },
      ),
      settings,
    );
  });
});
