/**
 * (a) of the bench: csv-parse alone over the file, in a process of its own so that its CPU time is
 * measured the same way as the import's (measure.ts). Prints {"rows": n, "ms": t}, t the parse loop
 * alone (without Node's start), which is what rows/s has always been measured over.
 * Run: node dist/bench/csv-parse-alone.js FILE
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

const file = process.argv[2];
if (!file) throw new Error('usage: csv-parse-alone.js FILE');
const started = performance.now();
let rows = 0;
for await (const _ of createReadStream(file).pipe(parse({ columns: true, bom: true }))) rows++;
process.stdout.write(`${JSON.stringify({ rows, ms: performance.now() - started })}\n`);
