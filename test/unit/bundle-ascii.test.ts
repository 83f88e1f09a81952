import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../dist/bundle/', import.meta.url));

/** The bundle files a module loads before it runs: its static imports, and theirs. */
function staticGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const code = readFileSync(dir + name, 'utf8');
    // Minified (scripts/bundle.mjs): `import{a as b}from"./chunk-X.js";`, several on a line.
    for (const m of code.matchAll(/(?:^|;)\s*import\s*(?:[^;"]*?from\s*)?"\.\/([\w-]+\.js)"/gm)) visit(m[1]!);
  };
  visit(entry);
  return [...seen];
}

/**
 * V8 keeps each module's source text in the heap of every thread that loads it, two bytes a
 * character if any is above U+00FF. scripts/bundle.mjs turns the non-ASCII characters of comments
 * into '?', so what `run`'s producer and its sender thread load is held one byte a character.
 */
describe('the bundle run loads', () => {
  it.each(['cli.js', 'sender-thread.js', 'thread-sender.js'])(
    '%s and its static imports are ASCII',
    (entry) => {
      const files = staticGraph(entry);
      // The sender thread is one file of its own; the CLI's entries share chunks.
      if (entry !== 'sender-thread.js') expect(files.length).toBeGreaterThan(1);
      const nonAscii = files.filter((f) => /[\u0080-\uffff]/.test(readFileSync(dir + f, 'utf8')));
      expect(nonAscii).toEqual([]);
    },
  );
});
