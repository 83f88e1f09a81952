import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMN_TYPES } from '../../schemas/mapping.js';
import { castAuto, castForced, isBlank } from '../../src/validate/cast.js';
import { cell, settings } from '../helpers/property.js';
import { comparable, FIELD, referenceAuto, referenceForced } from '../helpers/reference-cast.js';

/**
 * castAuto and castForced are hand-tuned (one branch per first character, a trim only when the
 * first character can be whitespace). The references below state the rules in the plainest way,
 * in the order a reader would check them, and the property tests hold the fast code to them.
 */

describe('castAuto against its reference', () => {
  it('gives the same value for every generated cell (10,000 cases, lengths 0-16)', () => {
    fc.assert(
      fc.property(cell, (c) => {
        expect(comparable(castAuto(c, FIELD))).toEqual(referenceAuto(c));
      }),
      settings,
    );
  });

  it('agrees on cells padded past 255 characters', () => {
    fc.assert(
      fc.property(cell, fc.integer({ min: 240, max: 270 }), (c, width) => {
        const long = c.padStart(width, '1');
        expect(comparable(castAuto(long, FIELD))).toEqual(referenceAuto(long));
      }),
      settings,
    );
  });
});

describe('castForced against its reference', () => {
  it('gives the same value for every generated cell and column type', () => {
    fc.assert(
      fc.property(cell, fc.constantFrom(...COLUMN_TYPES), (c, type) => {
        expect(comparable(castForced(c, type, FIELD))).toEqual(referenceForced(c, type));
      }),
      settings,
    );
  });
});

describe('isBlank against String#trim', () => {
  it('is true exactly when trim() leaves nothing', () => {
    fc.assert(
      fc.property(cell, (c) => {
        expect(isBlank(c)).toBe(c.trim() === '');
      }),
      settings,
    );
  });
});
