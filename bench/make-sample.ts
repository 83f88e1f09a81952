import { writeFileSync } from 'node:fs';
import { jsonlLine } from './generate.js';

/** Writes samples/demo-users.jsonl: 3,000 users, ~2% bad rows, half with events and purchases. */
const lines: string[] = [];
for (let i = 0; i < 3000; i++) lines.push(jsonlLine(42, i, 0.02).line);
writeFileSync(new URL('../../samples/demo-users.jsonl', import.meta.url), `${lines.join('\n')}\n`);
process.stdout.write(`wrote ${lines.length} lines\n`);
