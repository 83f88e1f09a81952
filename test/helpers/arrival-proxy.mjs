// A proxy in a process of its own that notes when each request arrives, then forwards it to the
// upstream given as the first argument. Tests that judge rate limits by arrival times run it here, not
// in the test's process: there, a stall of the test's event loop (vitest's work, spawning CLIs, GC
// under a full suite on 2 cores) held requests back and then timed a bunch of them at once (41 in a
// 1 s window of 40, where the senders kept 40). Plain JavaScript, so that Node runs it as it is.
//
//   GET /_proxy/arrivals  -> [{ at, path, status }] of every request forwarded so far
//
// Prints "listening on http://127.0.0.1:PORT" when ready; exits on SIGTERM.
import { createServer, request } from 'node:http';

const upstream = new URL(process.argv[2] ?? '');
const arrivals = [];

const server = createServer((req, res) => {
  const at = Date.now();
  if (req.url === '/_proxy/arrivals') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(arrivals));
    return;
  }
  const headers = { ...req.headers, host: upstream.host };
  const up = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (answer) => {
      arrivals.push({ at, path: req.url ?? '', status: answer.statusCode ?? 0 });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  up.on('error', () => res.destroy());
  req.pipe(up);
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${addr.port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
