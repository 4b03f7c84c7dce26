/**
 * Accounts of a team server: who may act in which entity. A user's own entity is its name; a
 * team is an entity its members share. Plain JSON, as every record of the contract.
 */

/** A role in an entity: viewers read, members also write, admins also manage (and move protected aliases). */
export type Role = 'viewer' | 'member' | 'admin';

/** The roles from least to most. */
export const ROLES: readonly Role[] = ['viewer', 'member', 'admin'];

export interface UserInfo {
  id: string;
  name: string;
  /** A server admin manages users, teams and keys, and is admin in every entity. */
  admin: boolean;
  createdAt: string;
}

export interface TeamInfo {
  id: string;
  name: string;
  createdBy: string;
  createdAt: string;
  members: Array<{ user: string; role: Role }>;
}

/** An API key as listings show it: never the key, only a hint of its last characters. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  user: string;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A key just made: `key` is shown this once and kept nowhere. */
export interface CreatedApiKey extends ApiKeyInfo {
  key: string;
}

/** Who a key acts for: the user, its default entity, and every entity it may act in with its role. */
export interface Identity {
  actor: string;
  entity: string;
  admin: boolean;
  memberships: Array<{ entity: string; role: Role }>;
}
