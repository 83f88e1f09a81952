// `npm run build`, second step: the CLI and the sender thread as a few bundled files (esbuild).
// Node 20 has no module compile cache, and loading bullmq, ioredis, zod and our own modules as
// ~500 separate files took 0.3–0.5 s of every start; bundled, a command reaches its work (and `run`
// its first request) about 0.3 s sooner on a 2-core machine. `tsc` still type-checks and emits
// dist/ for the bench. The entries keep the depth of jobs/ (dist/bundle/ like dist/jobs/), so paths
// relative to import.meta.url (package.json, samples/, sender-thread.js) stay the same.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transformSync } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;

// Chunk names carry content hashes: start empty, or old chunks pile up.
rmSync(outdir, { recursive: true, force: true });

// Shared by both builds below. Whitespace and comments go: V8 keeps each module's source text in the
// heap of every thread that loads it, and parses all of it at start; minified, the CLI's modules are
// 2.5 MB instead of 3.5 (names stay as written, so stack traces still read; the maps give lines).
const common = {
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  // Kept as packages: a native addon (msgpackr), modules that resolve files or start threads from
  // their own directory (pino's transports, bull-board's UI, express), and ones loaded only on demand.
  external: ['msgpackr', 'pino', 'pino-pretty', 'express', '@bull-board/*'],
  // Bundled CommonJS code still calls require() for the packages kept outside, and some of it reads
  // __dirname (ioredis, for its own version).
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { dirname as __pathDirname } from 'node:path';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      'const require = __createRequire(import.meta.url);',
      'const __filename = __fileURLToPath(import.meta.url);',
      'const __dirname = __pathDirname(__filename);',
    ].join(' '),
  },
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: {
    cli: `${root}jobs/cli.ts`,
    // The launcher prewarms the thread through this one; shared chunks keep it one module instance.
    'thread-sender': `${root}jobs/thread-sender.ts`,
  },
  splitting: true,
});

// The sender thread is an isolate of its own: it shares no module instance with the CLI, so it is one
// file, tree-shaken for what sending needs. In the CLI's chunks it loaded the producer's full zod
// (0.75 MB of source, ~3 MB of heap at start) for the one schema it parses answers with (zod/mini).
await build({
  ...common,
  entryPoints: { 'sender-thread': `${root}jobs/sender-thread.ts` },
  splitting: false,
});

// V8 keeps a module's source text in its heap (for lazy compilation), once per thread that loads it,
// and stores a text with any character above U+00FF as two bytes a character. The bundled packages'
// comments hold a few (an em dash, an arrow): chunks of 1-2 MB then took twice the memory in `run`'s
// producer and again in its sender thread (~6 MB of peak RSS in all). esbuild escapes non-ASCII
// characters in code but keeps comments as they are, so each one left becomes '?' (one per UTF-16
// unit: lines and columns, and so the source maps, stay right). Only where that changes comments
// alone: the file with its comments stripped must read the same before and after, or it is kept.
const withoutComments = (code) =>
  transformSync(code, { format: 'esm', minifyWhitespace: true, legalComments: 'none' }).code;
for (const name of readdirSync(outdir).filter((f) => f.endsWith('.js'))) {
  const file = join(outdir, name);
  const code = readFileSync(file, 'utf8');
  if (!/[\u0080-\uffff]/.test(code)) continue;
  const ascii = code.replace(/[\u0080-\uffff]/g, '?');
  if (withoutComments(ascii) === withoutComments(code)) writeFileSync(file, ascii);
}
