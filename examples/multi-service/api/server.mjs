// A small notes API: notes live in Postgres, reads are cached in Redis for a minute.
// Configured by DATABASE_URL, REDIS_URL and PORT; logs one line per request.
import { createServer } from 'node:http';
import Redis from 'ioredis';
import pg from 'pg';

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
const cache = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', { lazyConnect: true });
await cache.connect();
await db.query(
  'CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
);

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || '{}');
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://api');
  if (req.method === 'GET' && url.pathname === '/health') {
    await Promise.all([db.query('SELECT 1'), cache.ping()]);
    return send(res, 200, { ok: true });
  }
  if (req.method === 'POST' && url.pathname === '/notes') {
    const { text } = await readJson(req);
    if (typeof text !== 'string' || text === '') return send(res, 400, { error: 'text is required' });
    const { rows } = await db.query('INSERT INTO notes (text) VALUES ($1) RETURNING id, text', [text]);
    return send(res, 201, rows[0]);
  }
  const match = /^\/notes\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && match) {
    const key = `note:${match[1]}`;
    const cached = await cache.get(key);
    if (cached) return send(res, 200, JSON.parse(cached), { 'x-cache': 'hit' });
    const { rows } = await db.query('SELECT id, text FROM notes WHERE id = $1', [Number(match[1])]);
    if (rows.length === 0) return send(res, 404, { error: 'no such note' });
    await cache.set(key, JSON.stringify(rows[0]), 'EX', 60);
    return send(res, 200, rows[0], { 'x-cache': 'miss' });
  }
  return send(res, 404, { error: 'not found' });
}

const server = createServer((req, res) => {
  handle(req, res)
    .catch((error) => send(res, 500, { error: error.message }))
    .finally(() => console.log(`${req.method} ${req.url} ${res.statusCode}`));
});
server.listen(Number(process.env.PORT ?? 8080), () =>
  console.log(`notes API listening on ${server.address().port}`),
);
process.on('SIGTERM', () => {
  server.close();
  Promise.all([db.end(), cache.quit()]).finally(() => process.exit(0));
});
