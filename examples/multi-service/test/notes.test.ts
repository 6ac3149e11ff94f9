/**
 * End to end through the notes API: the test talks HTTP to the service built
 * from api/Dockerfile, which talks to Postgres and Redis over the services'
 * network.
 */
import { test } from 'cspec/vitest';
import { expect } from 'vitest';

async function createNote(url: string, text: string): Promise<{ id: number; text: string }> {
  const response = await fetch(`${url}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: number; text: string };
}

test('a note is stored in Postgres, and read back the second time from Redis', async ({ api }) => {
  const note = await createNote(api.url as string, 'buy milk');
  const first = await fetch(`${api.url}/notes/${note.id}`);
  expect(first.headers.get('x-cache')).toBe('miss');
  expect(await first.json()).toEqual(note);
  const second = await fetch(`${api.url}/notes/${note.id}`);
  expect(second.headers.get('x-cache')).toBe('hit');
  expect(await second.json()).toEqual(note);
});

test('bad input and unknown notes get clear answers', async ({ api }) => {
  const bad = await fetch(`${api.url}/notes`, { method: 'POST', body: '{}' });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ error: 'text is required' });
  expect((await fetch(`${api.url}/notes/999999`)).status).toBe(404);
});

test('the service logs every request, and runs as nobody in its image', async ({ api }) => {
  await fetch(`${api.url}/notes/1`);
  expect(await api.logs()).toMatch(/^GET \/notes\/1 (200|404)$/m);
  const id = await api.exec(['id', '-un']);
  expect(id.stdout.trim()).toBe('nobody');
});

test('the test has its own database beside the service', async ({ db }) => {
  // The API keeps its notes in the server's "postgres" database; this test's database is empty.
  const { rows } = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'notes'",
  );
  expect(rows[0]?.n).toBe('0');
});
