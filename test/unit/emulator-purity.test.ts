import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The emulator's logic must stay unit-testable without sockets or files: only server/inspect/http-util/index
// may reach node:http and friends.
const PURE = [
  'validate',
  'store',
  'attribute-ops',
  'rate-limit',
  'faults',
  'stats',
  'track',
  'endpoints',
  'json',
  'writes',
  'auth',
  'gate',
];

describe('pure emulator modules', () => {
  it.each(PURE)('%s.ts imports no node: built-ins', (name) => {
    const source = readFileSync(new URL(`../../src/emulator/${name}.ts`, import.meta.url), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(source).toMatch(/^export /m);
    expect(imports.filter((i) => i?.startsWith('node:') || i === 'http' || i === 'fs')).toEqual([]);
  });
});
