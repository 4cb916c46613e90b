import http from 'node:http';

/**
 * The integrators' side of `npm run bench:fanout`, its own process so that the driver's work does not
 * delay a receipt: every POST (any path: one per endpoint) is answered 200 at once and its receipt
 * recorded by webhook-id and path (one path per endpoint), with the envelope's createdAt (the event's commit) and data.id (the contact,
 * to match the API's answer). GET /_count answers the distinct deliveries, GET /_receipts all
 * receipts, POST /_reset forgets them. `node fanout-receiver.js <port>` prints one JSON line when ready.
 */

/** [webhook-id, path, received at (ms), envelope createdAt (ms), data.id] */
type Receipt = [string, string, number, number, string];

const port = Number(process.argv[2] ?? 0);
let receipts: Receipt[] = [];
let distinct = new Set<string>();

const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET' && req.url === '/_count') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ distinct: distinct.size, receipts: receipts.length }));
    return;
  }
  if (req.method === 'GET' && req.url === '/_receipts') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(receipts));
    return;
  }
  if (req.method === 'POST' && req.url === '/_reset') {
    receipts = [];
    distinct = new Set();
    res.writeHead(204).end();
    return;
  }
  const receivedAt = Date.now();
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.writeHead(200).end();
    const id = String(req.headers['webhook-id'] ?? '');
    let createdAt = Number.NaN;
    let key = '';
    try {
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { createdAt?: string; data?: { id?: string } };
      createdAt = Date.parse(envelope.createdAt ?? '');
      key = envelope.data?.id ?? '';
    } catch {
      // recorded without its times: counted, never measured
    }
    receipts.push([id, req.url ?? '', receivedAt, createdAt, key]);
    // webhook-id is the event's id (stable across retries, the same for every endpoint): one delivery is (id, endpoint path).
    distinct.add(`${id} ${req.url ?? ''}`);
  });
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ msg: 'receiver listening', port: typeof address === 'object' && address ? address.port : port })}\n`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
