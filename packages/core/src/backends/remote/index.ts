import { QuiverError } from '../../contract/errors.js';
import type {
  EventsApiV1,
  EventTopic,
  Principal,
  QuiverBackendV1,
  QuiverEvent,
  ReadEventsOptions,
} from '../../contract/index.js';
import { WIRE_CALLS, type WireCall } from '../../wire/operations.js';
import { forward, isPrincipal, type RemoteIdentity } from './calls.js';
import { RemoteBlobStore } from './remote-blob-store.js';
import { type Fetch, type RemoteParams, RemoteTransport, readJson } from './transport.js';

export type { RemoteIdentity } from './calls.js';
export type { RemoteParams } from './transport.js';

/**
 * The remote backend: the contract over HTTP to a Quiver server (`@quiver/server`). Every call is
 * one request of the wire table; the server runs the embedded backend for the key's user, so
 * results and errors are the same as a local store's. Calls that are safe to repeat retry with
 * backoff when the connection drops or the server answers 502/503/504.
 */
export class RemoteBackend implements QuiverBackendV1 {
  readonly specificationVersion = 'v1';
  readonly blobs: RemoteBlobStore;
  readonly runs: QuiverBackendV1['runs'];
  readonly artifacts: QuiverBackendV1['artifacts'];
  readonly registry: QuiverBackendV1['registry'];
  readonly maintenance: QuiverBackendV1['maintenance'];
  readonly events: EventsApiV1;

  /** @internal Use {@link openRemoteBackend}. */
  constructor(
    readonly transport: RemoteTransport,
    readonly identity: RemoteIdentity,
  ) {
    this.blobs = new RemoteBlobStore(transport);
    this.runs = forward(transport, WIRE_CALLS.runs as Record<string, WireCall>);
    this.artifacts = forward(transport, WIRE_CALLS.artifacts as Record<string, WireCall>);
    this.registry = forward(transport, WIRE_CALLS.registry as Record<string, WireCall>);
    this.maintenance = forward(transport, WIRE_CALLS.maintenance as Record<string, WireCall>);
    this.events = {
      read: (options) => readRemoteEvents(transport, options),
      consume: (consumer, handler, options) => consumeRemote(this, consumer, handler, options),
    };
  }

  get principal(): Principal {
    return { actor: this.identity.actor, entity: this.identity.entity };
  }

  /** A key acts for its user only: another principal needs that user's key. */
  withPrincipal(principal: Principal): QuiverBackendV1 {
    if (principal.actor === this.identity.actor && principal.entity === this.identity.entity) return this;
    if (
      principal.actor === this.identity.actor &&
      this.identity.memberships.some((m) => m.entity === principal.entity)
    )
      return new RemoteBackend(this.transport.inEntity(principal.entity), {
        ...this.identity,
        entity: principal.entity,
      });
    throw new QuiverError(
      'E_FORBIDDEN',
      `This API key acts for ${this.identity.actor}; it cannot act for ${principal.actor} in ${principal.entity}.`,
    );
  }

  /**
   * A JSON request to a route of the server outside the contract (the admin routes of users,
   * teams and keys), under the API prefix; never retried unless `idempotent`.
   */
  async request(
    verb: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    options: { idempotent?: boolean } = {},
  ): Promise<unknown> {
    const response = await this.transport.send(
      this.transport.url(path),
      () => ({
        method: verb,
        headers:
          body === undefined
            ? this.transport.headers()
            : this.transport.headers({ 'content-type': 'application/json' }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
      options.idempotent ?? verb === 'GET',
    );
    return readJson(response);
  }

  async close(): Promise<void> {}
}

/**
 * A named consumer over HTTP: claims the next batch under a lease, runs `handler`, then
 * acknowledges (the cursor moves) or, when it threw, releases it (the same events come again).
 */
async function consumeRemote(
  backend: RemoteBackend,
  consumer: string,
  handler: (events: QuiverEvent[]) => Promise<void>,
  options: { topic?: EventTopic; limit?: number } = {},
): Promise<{ delivered: number; cursor: number }> {
  const path = `/events/consumers/${encodeURIComponent(consumer)}`;
  const scope = { ...(options.topic ? { topic: options.topic } : {}) };
  const claim = (await backend.request('POST', `${path}/claim`, {
    ...scope,
    ...(options.limit ? { limit: options.limit } : {}),
  })) as {
    events: QuiverEvent[];
    lease: string | null;
  };
  if (claim.lease === null || !Array.isArray(claim.events) || claim.events.length === 0) {
    const query = options.topic ? `?topic=${options.topic}` : '';
    const { cursor } = (await backend.request('GET', `${path}${query}`)) as { cursor: number };
    return { delivered: 0, cursor };
  }
  try {
    await handler(claim.events);
  } catch (error) {
    await backend.request('POST', `${path}/release`, { ...scope, lease: claim.lease }).catch(() => undefined);
    throw error;
  }
  const { cursor } = (await backend.request('POST', `${path}/ack`, { ...scope, lease: claim.lease })) as {
    cursor: number;
  };
  return { delivered: claim.events.length, cursor };
}

async function readRemoteEvents(
  transport: RemoteTransport,
  options: ReadEventsOptions = {},
): Promise<QuiverEvent[]> {
  const query: Record<string, string> = {};
  if (options.topic !== undefined) query.topic = options.topic;
  if (options.after !== undefined) query.after = String(options.after);
  if (options.limit !== undefined) query.limit = String(options.limit);
  const response = await transport.send(
    transport.url('/events', { query }),
    () => ({ method: 'GET', headers: transport.headers() }),
    true,
  );
  const events = await readJson(response);
  if (!Array.isArray(events))
    throw new QuiverError('E_INTERNAL', 'The server answered the event log with something else than a list.');
  return events as QuiverEvent[];
}

/**
 * Connects to a Quiver server: checks the key (`GET /whoami`) and returns the backend acting for
 * its user, in `entity` when given (the user's own entity by default; a team it belongs to).
 */
export async function openRemoteBackend(params: RemoteParams & { entity?: string }): Promise<RemoteBackend> {
  const transport = new RemoteTransport(params);
  const response = await transport.send(
    transport.url('/whoami'),
    () => ({ method: 'GET', headers: transport.headers() }),
    true,
  );
  const identity = await readJson(response);
  if (!isPrincipal(identity))
    throw new QuiverError(
      'E_INTERNAL',
      `${transport.baseUrl.origin} did not answer /whoami as a Quiver server does.`,
    );
  const backend = new RemoteBackend(transport, identity);
  return params.entity && params.entity !== identity.entity
    ? (backend.withPrincipal({ actor: identity.actor, entity: params.entity }) as RemoteBackend)
    : backend;
}

export type { Fetch as RemoteFetch };
