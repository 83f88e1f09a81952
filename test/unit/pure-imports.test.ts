import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The pure core (validate, chunk, schemas) is unit-tested without Redis or network and may run
 * anywhere; this keeps I/O and infrastructure imports out of it.
 */

const root = join(import.meta.dirname, '..', '..');
const IMPURE = [
  'bullmq',
  'ioredis',
  'pino',
  'undici',
  'node:fs',
  'fs',
  'node:fs/promises',
  'fs/promises',
  'node:http',
  'http',
  'node:https',
  'node:net',
];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, dir, f));
}

/** Every module specifier: import/export ... from '...', import '...', import('...'), require('...'). */
function importsOf(source: string): string[] {
  const patterns = [
    /(?:^|[\s}])from\s*['"]([^'"]+)['"]\s*;?\s*$/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const found: [number, string][] = [];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push([m.index, m[1]!]);
  return found.sort((a, b) => a[0] - b[0]).map(([, spec]) => spec);
}

describe('pure modules', () => {
  it('finds the import forms it polices', () => {
    const text = [
      "import a from 'bullmq';",
      'import type { B } from "pino";',
      "import {\n  x,\n} from 'ioredis';",
      "export { c } from './c.js';",
      "const d = await import('node:fs');",
      "import 'undici';",
      "const name = 'braze-import'; // 'from' in text",
    ].join('\n');
    expect(importsOf(text)).toEqual(['bullmq', 'pino', 'ioredis', './c.js', 'node:fs', 'undici']);
  });

  it.each(['src/validate', 'src/chunk', 'schemas'])('%s imports no I/O or infrastructure module', (dir) => {
    const files = sources(dir);
    expect(files.length).toBeGreaterThan(0);
    const offenders = files.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter((spec) => IMPURE.some((bad) => spec === bad || spec.startsWith(`${bad}/`)))
        .map((spec) => `${relative(root, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it.each(['src/sync/pick-rules.ts', 'src/sync/cron.ts'])(
    '%s imports no I/O or infrastructure module',
    (file) => {
      const offenders = importsOf(readFileSync(join(root, file), 'utf8')).filter((spec) =>
        IMPURE.some((bad) => spec === bad || spec.startsWith(`${bad}/`)),
      );
      expect(offenders).toEqual([]);
    },
  );

  it('schemas/ imports only zod, zod/mini and other schemas', () => {
    const offenders = sources('schemas').flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter((spec) => spec !== 'zod' && spec !== 'zod/mini' && !/^\.\/[\w.-]+\.js$/.test(spec))
        .map((spec) => `${relative(root, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('layers', () => {
  /** Folders of src/ that a folder must not import (directly), so the layers have no cycle. */
  const FORBIDDEN: Record<string, string[]> = {
    'src/runs': ['enqueue', 'send', 'import', 'dashboard', 'dead-letter', 'emulator'],
    'src/enqueue': ['send', 'import', 'dashboard'],
    'src/send': ['enqueue', 'import', 'dashboard'],
    'src/dead-letter': ['enqueue', 'send', 'import'],
    'src/dashboard': ['enqueue', 'send', 'import'],
  };
  it.each(Object.keys(FORBIDDEN))('%s imports no layer above it', (dir) => {
    const offenders = sources(dir).flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter((spec) => FORBIDDEN[dir]!.some((up) => new RegExp(`^\\.\\./(\\.\\./)?${up}/`).test(spec)))
        .map((spec) => `${relative(root, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});
