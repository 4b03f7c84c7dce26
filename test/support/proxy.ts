import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CommitResult, EmbeddedBackend } from '@quiver/core';

/**
 * An HTTP proxy on a free loopback port in front of `upstream`: every request goes through, and
 * `onAnswer` may take over an answer (to delay, cut, drop or rewrite it); when it returns false
 * the answer is passed on as it came.
 */
export async function startProxy(
  upstream: number,
  onAnswer: (
    incoming: IncomingMessage,
    answer: IncomingMessage,
    outgoing: ServerResponse,
  ) => boolean | Promise<boolean>,
): Promise<{ url: string; close(): Promise<void> }> {
  const proxy = createServer((incoming, outgoing) => {
    const forward = httpRequest(
      {
        host: '127.0.0.1',
        port: upstream,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
      },
      async (answer) => {
        if (await onAnswer(incoming, answer, outgoing)) return;
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

/** Stores `files` and commits them as `entity/project/name` straight on an embedded backend. */
export async function commitFiles(
  backend: EmbeddedBackend,
  at: { entity: string; project: string; name: string; runId?: string },
  files: Record<string, Buffer>,
): Promise<CommitResult> {
  const manifest = [];
  for (const [path, bytes] of Object.entries(files)) {
    await backend.blobs.publish([await backend.blobs.stage({ bytes })]);
    manifest.push({ path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
  }
  return backend.withPrincipal({ actor: at.entity, entity: at.entity }).artifacts.commit({
    project: at.project,
    name: at.name,
    type: 'model',
    description: null,
    metadata: {},
    manifest,
    runId: at.runId ?? null,
    aliases: [],
    tags: [],
  });
}
