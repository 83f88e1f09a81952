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
    for (const m of code.matchAll(/^import\s[^;]*?from\s*"\.\/([\w-]+\.js)";/gms)) visit(m[1]!);
    for (const m of code.matchAll(/^import\s*"\.\/([\w-]+\.js)";/gm)) visit(m[1]!);
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
      expect(files.length).toBeGreaterThan(1);
      const nonAscii = files.filter((f) => /[\u0080-\uffff]/.test(readFileSync(dir + f, 'utf8')));
      expect(nonAscii).toEqual([]);
    },
  );
});
