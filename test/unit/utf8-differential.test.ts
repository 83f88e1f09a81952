import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../src/validate/nested.js';
import { settings } from '../helpers/property.js';

/** utf8Length counts UTF-8 bytes without Buffer (the emulator's pure modules use it): Buffer is the reference. */
describe('utf8Length against Buffer.byteLength', () => {
  it('a high surrogate without its low half is 3 bytes, and the next unit counts on its own', () => {
    expect(utf8Length('\ud800\ud800')).toBe(Buffer.byteLength('\ud800\ud800', 'utf8'));
    expect(utf8Length('\ud800a')).toBe(4);
    expect(utf8Length('😀')).toBe(4);
  });

  it('agrees on every string, lone surrogates included', () => {
    const unit = fc.oneof(
      fc.constantFrom(
        'a',
        'é',
        '€',
        '😀',
        '\ud800',
        '\udbff',
        '\udc00',
        '\udfff',
        '\u0000',
        '\u07ff',
        '\u0800',
        '\uffff',
      ),
      fc.string({ unit: 'binary', maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 16 }), (s) => {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
      }),
      settings,
    );
  });
});
