import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook as a test receiver got it. */
export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed body (`{ type, timestamp, data }` for the standard payload). */
  json: { type: string; timestamp: string; data: Record<string, unknown> } & Record<string, unknown>;
}

/** A local HTTP receiver that records every POST and answers as `answer` says (default 200). */
export interface TestReceiver extends AsyncDisposable {
  url: string;
  received: Received[];
  /** How to answer the n-th request (0-based); return false to hold the request open (never answer). */
  answer: (index: number, request: Received, response: ServerResponse) => boolean | undefined;
  /** Resolves when `count` requests have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<TestReceiver> {
  const received: Received[] = [];
  const waiters = new Set<() => boolean>();
  const receiver: TestReceiver = {
    url: '',
    received,
    answer: () => undefined,
    waitFor(count, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (received.length < count) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(received.slice());
          return true;
        };
        const timer = setTimeout(
          () =>
            reject(new Error(`the receiver got ${received.length} of ${count} webhooks in ${timeoutMs} ms`)),
          timeoutMs,
        );
        if (!check()) waiters.add(check);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
    [Symbol.asyncDispose]() {
      return receiver.close();
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Received['json'];
      try {
        json = JSON.parse(body) as Received['json'];
      } catch {
        json = {} as Received['json'];
      }
      const entry: Received = { at: Date.now(), headers: request.headers, body, json };
      const index = received.length;
      received.push(entry);
      const handled = receiver.answer(index, entry, response);
      if (handled === undefined) response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      for (const waiter of [...waiters]) waiter();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
