/**
 * Tokens and access rules, as the Hub applies them:
 * - a request may be anonymous, but a token the Hub does not know is always a 401;
 * - anyone reads a public repo; only its owners (the user of its namespace or members of its
 *   org) see a private one, everybody else gets RepoNotFound (401 anonymous, 404 otherwise);
 * - writing needs a user (401), a `write` token (403) and ownership of the namespace (403).
 */
import { randomBytes } from 'node:crypto';
import {
  authenticationRequired,
  badRequest,
  forbidden,
  invalidCredentials,
  repoNotFound,
} from './hub-errors.js';
import type { HubTokenOptions, TokenRole } from './hub-types.js';
import type { Repo } from './repo-store.js';

/** Who sent a request. */
export type Caller =
  | { anonymous: true }
  | { anonymous: false; user: string; role: TokenRole; tokenName: string; createdAt: Date };

interface TokenRecord {
  user: string;
  role: TokenRole;
  name: string;
  createdAt: Date;
}

export class AccessControl {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #orgs = new Map<string, Set<string>>();

  /** Registers a token (random unless given) and returns it. */
  addToken(options: HubTokenOptions): string {
    const role = options.role ?? 'write';
    const token = options.token ?? `hf_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
    if (!token.startsWith('hf_')) throw new TypeError('Hub tokens start with "hf_"');
    const orgs = this.#orgs.get(options.user) ?? new Set();
    for (const org of options.orgs ?? []) orgs.add(org);
    this.#orgs.set(options.user, orgs);
    this.#tokens.set(token, {
      user: options.user,
      role,
      name: options.name ?? `${options.user}-${role}`,
      createdAt: new Date(),
    });
    return token;
  }

  /** The organizations a user belongs to. */
  orgsOf(user: string): string[] {
    return [...(this.#orgs.get(user) ?? [])];
  }

  /** Reads `Authorization: Bearer hf_…`; a header with an unknown token is a 401. */
  authenticate(authorization: string | undefined): Caller {
    if (authorization === undefined || authorization === '') return { anonymous: true };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const record = match ? this.#tokens.get(match[1] as string) : undefined;
    if (!record) throw invalidCredentials();
    return {
      anonymous: false,
      user: record.user,
      role: record.role,
      tokenName: record.name,
      createdAt: record.createdAt,
    };
  }

  /** Whether the caller's user is, or is a member of, `namespace`. */
  owns(caller: Caller, namespace: string): boolean {
    return (
      !caller.anonymous &&
      (caller.user === namespace || (this.#orgs.get(caller.user)?.has(namespace) ?? false))
    );
  }

  canRead(caller: Caller, repo: Repo): boolean {
    return !repo.private || this.owns(caller, namespaceOf(repo));
  }

  /** The repo, if the caller may read it; RepoNotFound otherwise (whether it exists or not). */
  requireRead(caller: Caller, repo: Repo | undefined): Repo {
    if (!repo || !this.canRead(caller, repo)) throw repoNotFound(caller.anonymous);
    return repo;
  }

  /** The repo, if the caller may write to it. */
  requireWrite(caller: Caller, repo: Repo | undefined): Repo {
    if (caller.anonymous) throw authenticationRequired();
    const readable = this.requireRead(caller, repo);
    if (caller.role !== 'write')
      throw forbidden(`You don't have the rights to write to ${readable.key}: your token is read-only`);
    if (!this.owns(caller, namespaceOf(readable)))
      throw forbidden(`You don't have the rights to write to ${readable.key}`);
    return readable;
  }

  /** Checks the caller may create (or delete) repos under `namespace`; returns its user. */
  requireNamespaceWrite(caller: Caller, namespace: string | undefined, type: string): string {
    if (caller.anonymous) throw authenticationRequired();
    if (!namespace) throw badRequest('Missing repo namespace');
    if (caller.role !== 'write' || !this.owns(caller, namespace)) {
      throw forbidden(`You don't have the rights to create a ${type} under the namespace "${namespace}"`);
    }
    return caller.user;
  }
}

export function namespaceOf(repo: Repo): string {
  return repo.name.split('/')[0] as string;
}
