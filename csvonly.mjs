import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

let rows = 0;
for await (const _ of createReadStream(process.argv[2]).pipe(parse({ columns: true, bom: true }))) rows++;
console.log(rows);
