import type { Principal } from '../../contract/index.js';
import type { WireCall } from '../../wire/operations.js';
import type { RemoteTransport } from './transport.js';

/** Who a key or session acts for, as the server's `/whoami` answers. */
export interface RemoteIdentity extends Principal {
  /** The entities (the user's own and its teams') the key may act in, with the role in each. */
  memberships: Array<{ entity: string; role: 'viewer' | 'member' | 'admin' }>;
}

/** An API of the contract whose every method is one request of the wire table. */
export function forward<T>(transport: RemoteTransport, table: Record<string, WireCall>): T {
  const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [method, operation] of Object.entries(table))
    api[method] = (...args) => transport.call(operation, args);
  return api as T;
}

/** True for an answer of `/whoami`. */
export function isPrincipal(value: unknown): value is RemoteIdentity {
  const body = value as Partial<RemoteIdentity> | null;
  return (
    body !== null &&
    typeof body === 'object' &&
    typeof body.actor === 'string' &&
    typeof body.entity === 'string' &&
    Array.isArray(body.memberships)
  );
}
