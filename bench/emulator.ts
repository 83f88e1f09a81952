/**
 * How many 75-object /users/track requests per second the emulator serves, so we know it is never the
 * bottleneck of pipeline benchmarks (target ~1,000 req/s). The emulator runs in a child process; this process
 * is the client (undici Pool). Run: npm run build && node dist/bench/emulator.js [--seconds 5] [--connections 32]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { type EmulatorOptionsInput, startEmulator } from '../src/emulator/index.js';

const KEY = 'bench-key';
const OBJECTS = 75;
const USERS = 100_000;

interface Scenario {
  name: string;
  options: EmulatorOptionsInput;
}

const SCENARIOS: Scenario[] = [
  { name: '--store memory', options: { store: 'memory', rateLimits: { track: null } } },
  { name: '--store none', options: { store: 'none', rateLimits: { track: null } } },
  // The sliding log at full speed: a limit high enough never to reject, to show its cost.
  {
    name: '--store memory, sliding limiter',
    options: { store: 'memory', rateLimits: { track: { limit: 1e8, windowMs: 3000 } } },
  },
];

function makeBodies(count: number): string[] {
  const bodies: string[] = [];
  let user = 0;
  for (let b = 0; b < count; b++) {
    const attributes = Array.from({ length: OBJECTS }, () => {
      user = (user + 7919) % USERS;
      return {
        external_id: `bench-user-${user.toString().padStart(8, '0')}`,
        first_name: 'Benchmark',
        last_name: `User ${user}`,
        email: `user${user}@example.com`,
        home_city: 'Lisbon',
        plan: user % 3 === 0 ? 'gold' : 'free',
        score: user % 1000,
        visits: { inc: 1 },
        tags: { add: ['import', `cohort-${user % 12}`] },
        signed_up_at: '2024-05-01T12:00:00Z',
        bio: 'x'.repeat(60),
      };
    });
    bodies.push(JSON.stringify({ attributes }));
  }
  return bodies;
}

async function runChild(): Promise<void> {
  const options = JSON.parse(process.argv[3] ?? '{}') as EmulatorOptionsInput;
  const emu = await startEmulator({ ...options, port: 0, apiKey: KEY });
  process.send?.({ port: emu.port });
  process.on('message', (msg) => {
    if (msg === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => void emu.close().then(() => process.exit(0)));
}

function spawnEmulator(options: EmulatorOptionsInput): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(options)]);
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, port: (msg as { port: number }).port }));
    child.once('error', reject);
  });
}

function childCpuMs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (msg) => {
      const { user, system } = (msg as { cpu: NodeJS.CpuUsage }).cpu;
      resolve((user + system) / 1000);
    });
    child.send('cpu');
  });
}

interface Result {
  reqPerSec: number;
  p50: number;
  p99: number;
  non201: number;
  serverCpu: number;
}

async function measure(
  scenario: Scenario,
  bodies: string[],
  seconds: number,
  connections: number,
): Promise<Result> {
  const { child, port } = await spawnEmulator(scenario.options);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  const headers = {
    authorization: `Bearer ${KEY}`,
    'content-type': 'application/json',
    'x-braze-bulk': 'true',
  };
  let recording = false;
  let stop = false;
  let done = 0;
  let non201 = 0;
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (!stop) {
      const body = bodies[next++ % bodies.length];
      const t0 = performance.now();
      const res = await pool.request({ path: '/users/track', method: 'POST', headers, body });
      await res.body.dump();
      if (!recording) continue;
      done++;
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 201) non201++;
    }
  };
  const workers = Array.from({ length: connections * 2 }, worker);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up: JIT, connections, store growth
  const cpu0 = await childCpuMs(child);
  recording = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recording = false;
  const elapsed = performance.now() - t0;
  const cpu1 = await childCpuMs(child);
  stop = true;
  await Promise.all(workers);
  await pool.close();
  child.disconnect();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    reqPerSec: (done * 1000) / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    non201,
    serverCpu: (cpu1 - cpu0) / elapsed,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } },
  });
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const bodies = makeBodies(256);
  const avgBytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length;
  console.log(
    `75-object /users/track bodies of ~${(avgBytes / 1024).toFixed(1)} KiB, ${connections} connections, ${seconds} s each`,
  );
  const rows: string[][] = [['scenario', 'req/s', 'objects/s', 'p50 ms', 'p99 ms', 'non-201', 'server CPU']];
  for (const scenario of SCENARIOS) {
    const r = await measure(scenario, bodies, seconds, connections);
    rows.push([
      scenario.name,
      r.reqPerSec.toFixed(0),
      (r.reqPerSec * OBJECTS).toFixed(0),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      String(r.non201),
      `${(r.serverCpu * 100).toFixed(0)}%`,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  '),
    );
}

if (process.argv[2] === '--child') await runChild();
else await main();
