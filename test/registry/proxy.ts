/**
 * A small HTTP proxy in front of a registry, to make it misbehave on purpose:
 * flip a byte of blobs, cut a blob off once, stall (at once or midway), or redirect blob GETs to
 * a "storage" server on another host (`localhost` vs `127.0.0.1`) that
 * records whether an Authorization header reached it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ProxyOptions {
  /** Flip the last byte of every blob body. */
  readonly corruptBlobs?: boolean;
  /** Send only this many bytes of the first blob GET, then drop the connection. */
  readonly cutFirstBlobAfter?: number;
  /** Answer blob GETs with a 307 to the storage server on `localhost`. */
  readonly redirectBlobs?: boolean;
  /** Never answer blob GETs (until closed). */
  readonly stallBlobs?: boolean;
  /** Send only the first `bytes` of blobs larger than `larger`, then hold the connection (until closed). */
  readonly stallBlobsAfter?: { readonly larger: number; readonly bytes: number };
  /** Demand this `Authorization` value (answering 401 Basic otherwise), as a registry with basic auth does. */
  readonly requireAuthorization?: string;
}

export interface Proxy {
  readonly host: string;
  /** Requests the proxy saw: method, path, range header. */
  readonly seen: { method: string; path: string; range: string | undefined }[];
  /** Authorization headers the storage server saw (undefined for none). */
  readonly storageAuthorization: (string | undefined)[];
  close(): Promise<void>;
}

const isBlobGet = (req: IncomingMessage) => req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');

async function forward(target: string, req: IncomingMessage, headers: Record<string, string>) {
  const body =
    req.method === 'GET' || req.method === 'HEAD'
      ? undefined
      : (req as unknown as ReadableStream<Uint8Array>);
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method ?? 'GET',
    headers,
    redirect: 'manual',
    ...(body ? { body, duplex: 'half' } : {}),
  };
  return fetch(`${target}${req.url}`, init);
}

function plainHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string' && k !== 'host' && k !== 'connection') out[k] = v;
  }
  return out;
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

export async function startProxy(registryUrl: string, options: ProxyOptions = {}): Promise<Proxy> {
  const seen: Proxy['seen'] = [];
  const storageAuthorization: (string | undefined)[] = [];
  let cut = options.cutFirstBlobAfter !== undefined;
  const stalled: ServerResponse[] = [];

  const storage = createServer(async (req, res) => {
    storageAuthorization.push(req.headers.authorization);
    const upstream = await fetch(`${registryUrl}${req.url}`);
    res.writeHead(upstream.status, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  const storagePort = await listen(storage, '127.0.0.1');

  const server = createServer(async (req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', range: req.headers.range });
    try {
      if (options.requireAuthorization && req.headers.authorization !== options.requireAuthorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="proxy"' });
        res.end();
        return;
      }
      if (isBlobGet(req) && options.stallBlobs) {
        stalled.push(res);
        return;
      }
      if (isBlobGet(req) && options.redirectBlobs) {
        res.writeHead(307, { location: `http://localhost:${storagePort}${req.url}` });
        res.end();
        return;
      }
      const headers = plainHeaders(req);
      // The registry behind has no auth of its own when the proxy checks it.
      if (options.requireAuthorization) delete headers.authorization;
      const upstream = await forward(registryUrl, req, headers);
      const responseHeaders: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection')
          responseHeaders[name] = value;
      });
      let body = Buffer.from(await upstream.arrayBuffer());
      if (isBlobGet(req) && options.corruptBlobs && body.length > 0) {
        body = Buffer.from(body);
        body[body.length - 1] = body[body.length - 1]! ^ 0xff;
      }
      if (isBlobGet(req) && cut && body.length > (options.cutFirstBlobAfter ?? 0)) {
        cut = false;
        res.writeHead(upstream.status, { ...responseHeaders, 'content-length': String(body.length) });
        res.write(body.subarray(0, options.cutFirstBlobAfter));
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      const stall = options.stallBlobsAfter;
      if (isBlobGet(req) && stall && body.length > stall.larger) {
        res.writeHead(upstream.status, { ...responseHeaders, 'content-length': String(body.length) });
        res.write(body.subarray(0, stall.bytes));
        stalled.push(res);
        return;
      }
      res.writeHead(upstream.status, { ...responseHeaders, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      res.writeHead(502);
      res.end(String(error));
    }
  });
  const port = await listen(server, '127.0.0.1');
  return {
    host: `127.0.0.1:${port}`,
    seen,
    storageAuthorization,
    async close() {
      for (const res of stalled) res.socket?.destroy();
      server.closeAllConnections();
      storage.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => storage.close(() => resolve())),
      ]);
    },
  };
}
