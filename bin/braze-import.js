#!/bin/sh
':' //; m() { export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-2097152}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-524288}"; }; case "$1" in run|demo) f=--max-semi-space-size=8; m ;; worker) f=; m ;; *) f= ;; esac; exec node $f "$0" "$@"
// Run as a program (npx braze-import, a global install, the Docker entrypoint), this file is first a
// shell script: the line above gives Node the start-up settings the command needs and becomes Node
// (exec: the same process). To Node, that line is a string and a comment. V8 reads
// --max-semi-space-size only when it starts: an 8 MB semi-space keeps the young generation of `run`'s
// producer (the main thread) at 16 MB of new space instead of 32 MB, about 35 MB less peak RSS at no
// CPU cost measurable (4 MB saved 50 MB more but cost 6.7% CPU; ARCHITECTURE.md). glibc's malloc
// reads MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ (mallopt(3)) only when the process starts;
// a user's own values are kept. Left to itself it raises both thresholds to the largest block freed
// so far, so once a 2 MB buffer or the id-collision table (16 MB) is freed, each thread's arena keeps
// up to twice that free and unreturned. Fixed ones (blocks of 2 MB and more mapped apart, an arena's
// free top returned past 512 KB) cost ~1.02x the CPU and save 10-15 MB of peak RSS (ARCHITECTURE.md);
// `worker` gets them too (not the semi-space). Other C libraries (musl) ignore them. The `worker`
// command sends on its main thread and keeps V8's default; `run` sends from a thread whose heap
// limits are set where it starts (jobs/thread-sender.ts).
// `node bin/braze-import.js` skips the line: the same command without those flags.
// Thin launcher: the bundled CLI lives in dist/bundle/ (built by `npm run build`, which `npm ci` runs via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// Set before any work, as if on the command line (V8 flags are per process: threads share them).
// Allocation-site pretenuring guesses from a few scavenges that parsed rows live long and then
// allocates every later row straight into the old generation: 400+ MB of garbage there per million
// rows, about 45% more time on some runs and 50 MB more peak RSS (measured; see ARCHITECTURE.md).
setFlagsFromString('--no-allocation-site-pretenuring');
// Scavenges on one thread: V8 would share each young-generation collection among helper threads, but
// on a machine whose cores the import, Redis and Braze's stand-in already keep busy the helpers cost
// more CPU than they save (a limit-bound 1M-row run: 0.95x the CPU of `run`, the same peak RSS,
// measured pairwise; ARCHITECTURE.md). Concurrent marking stays: without it peak RSS grew 15 MB.
setFlagsFromString('--no-parallel-scavenge');

const entry = new URL('../dist/bundle/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('braze-import: not built yet; run `npm run build` (npm ci does it for you)\n');
  process.exit(2);
}
// `run` sends from a worker thread: it starts loading now, alongside the CLI's own modules, which
// brings the first request ~0.3 s sooner. The command adopts it; a thread left unused (a flag that
// makes `run` not send, say) does not keep the process alive.
const args = process.argv.slice(2);
if (args[0] === 'run' && !args.some((a) => ['--dry-run', '--enqueue-only', '--help', '-h'].includes(a))) {
  const { prewarmSenderThread } = await import(
    new URL('../dist/bundle/thread-sender.js', import.meta.url).href
  );
  prewarmSenderThread();
}
await import(entry.href);
