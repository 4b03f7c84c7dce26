import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { Selectable } from 'kysely';
import type {
  ApiKeyInfo,
  CreatedApiKey,
  Identity,
  Role,
  TeamInfo,
  UserInfo,
} from '../../contract/accounts.js';
import { ROLES } from '../../contract/accounts.js';
import { QuiverError } from '../../contract/errors.js';
import { assertName } from '../../names.js';
import type { DatabaseConnection, Executor } from './database/connection.js';
import type { ApiKeyTable, UserTable } from './database/schema.js';
import { newUid } from './events.js';

/** Every key starts with this, so a leaked one is recognisable (secret scanners match it). */
export const API_KEY_PREFIX = 'qvr_';
const KEY_PATTERN = /^qvr_[A-Za-z0-9_-]{43}$/;
/** `last_used_at` is written at most this often per key, so reads do not turn into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * How long an authenticated key's identity is reused without asking the database again. Changes
 * made through this process (revocations, memberships) take effect at once; those made by another
 * process sharing the database (a second server replica) within this long.
 */
export const IDENTITY_CACHE_MS = 2_000;
const IDENTITY_CACHE_SIZE = 10_000;

/** Browser session tokens, told apart from keys by their prefix. */
export const SESSION_PREFIX = 'qvs_';
const SESSION_PATTERN = /^qvs_[A-Za-z0-9_-]{43}$/;
/** How long a browser session lasts from sign-in. */
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** Passwords: at least this long (NIST SP 800-63B asks for 8; a team server holds models). */
const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1024;
/** scrypt at N=2^15, r=8, p=1 (RFC 7914's interactive setting: 32 MiB, ≈ 50 ms a sign-in here). */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
/** Failed sign-ins per user name before it is refused for a while, and how long. */
const MAX_FAILURES = 10;
const LOCKOUT_MS = 15 * 60_000;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `password` matches the stored hash; a malformed stored hash matches nothing. */
async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds on what is read back, so a changed row cannot make a sign-in take minutes or memory.
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16)
    return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== 32) return false;
  const key = await scryptAsync(password, salt, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

/** A stored hash to check against when the user does not exist, so timing tells nothing. */
let decoyHash: Promise<string> | undefined;

/** Password checks at once (scrypt's 32 MiB each, on libuv's pool); more wait their turn. */
const MAX_CHECKS = 2;
let checksRunning = 0;
const waitingChecks: Array<() => void> = [];

/** Runs a password check when one of the {@link MAX_CHECKS} slots is free, so sign-ins cannot starve the blob store's file I/O. */
async function checkingPasswords<T>(check: () => Promise<T>): Promise<T> {
  if (checksRunning >= MAX_CHECKS) {
    if (waitingChecks.length >= 100)
      throw new QuiverError('E_UNAVAILABLE', 'Too many sign-ins at once; try again in a moment.');
    await new Promise<void>((resolve) => waitingChecks.push(resolve));
  }
  checksRunning++;
  try {
    return await check();
  } finally {
    checksRunning--;
    waitingChecks.shift()?.();
  }
}

const now = (): string => new Date().toISOString();
const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex');

function assertRole(value: unknown): Role {
  if (typeof value !== 'string' || !(ROLES as readonly string[]).includes(value))
    throw new QuiverError(
      'E_INVALID_OPTION',
      `A role is one of ${ROLES.join(', ')}; got ${JSON.stringify(value)}.`,
    );
  return value as Role;
}

/** Users and teams share one namespace: both are entities (`name/project/artifact`). */
async function assertNameFree(trx: Executor, name: string): Promise<void> {
  const taken =
    (await trx.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst()) ??
    (await trx.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirst());
  if (taken)
    throw new QuiverError(
      'E_ALREADY_EXISTS',
      `The name '${name}' is taken by a user or a team; pick another.`,
    );
}

function toUser(row: Selectable<UserTable>): UserInfo {
  return { id: row.uid, name: row.name, admin: row.is_admin === 1, createdAt: row.created_at };
}

function toKey(row: Selectable<ApiKeyTable>, user: string): ApiKeyInfo {
  return {
    id: row.uid,
    name: row.name,
    user,
    hint: row.hint,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/**
 * The team server's accounts, in the store's own database: users, teams, memberships and API keys.
 * Keys are 256 random bits, shown once; only their sha256 is stored (a key this random needs no
 * slow hash), and a lookup compares digests in constant time.
 */
export class Accounts {
  /** Identities by key digest, each until a time (ms). Cleared by every change of accounts. */
  private readonly identities = new Map<string, { identity: Identity; until: number }>();
  /** Bumped by every change, so a lookup that began before one is not cached after it. */
  private generation = 0;

  /**
   * Runs a change of accounts, then forgets every cached identity. Forgetting after the change
   * (and bumping the generation) keeps no identity a lookup may have read before it.
   */
  private async changing<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      this.generation++;
      this.identities.clear();
    }
  }

  constructor(private readonly connection: DatabaseConnection) {}

  private get db() {
    return this.connection.db;
  }

  /** True when no user exists yet (a server's first start). */
  async empty(): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
    return row === undefined;
  }

  async createUser(name: string, options: { admin?: boolean } = {}): Promise<UserInfo> {
    const checked = assertName(name, 'entity');
    return this.connection.writeTransaction(async (trx) => {
      await assertNameFree(trx, checked);
      const row = await trx
        .insertInto('users')
        .values({
          uid: newUid(),
          name: checked,
          is_admin: options.admin ? 1 : 0,
          created_at: now(),
          password_hash: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUser(row);
    });
  }

  async users(): Promise<UserInfo[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  async createTeam(name: string, createdBy: string): Promise<TeamInfo> {
    return this.changing(async () => {
      const checked = assertName(name, 'entity');
      await this.connection.writeTransaction(async (trx) => {
        await assertNameFree(trx, checked);
        await trx
          .insertInto('teams')
          .values({ uid: newUid(), name: checked, created_by: createdBy, created_at: now() })
          .execute();
      });
      return this.team(checked);
    });
  }

  async team(name: string): Promise<TeamInfo> {
    const row = await this.db.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new QuiverError('E_NOT_FOUND', `No team '${name}'.`);
    const members = await this.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.name as user', 'm.role'])
      .where('m.team_id', '=', row.id)
      .orderBy('u.name')
      .execute();
    return {
      id: row.uid,
      name: row.name,
      createdBy: row.created_by,
      createdAt: row.created_at,
      members: members.map((member) => ({ user: member.user, role: member.role as Role })),
    };
  }

  async teams(): Promise<TeamInfo[]> {
    const rows = await this.db.selectFrom('teams').select('name').orderBy('name').execute();
    return Promise.all(rows.map((row) => this.team(row.name)));
  }

  /** Adds a user to a team, or changes its role there. */
  async setMember(team: string, user: string, role: Role): Promise<TeamInfo> {
    return this.changing(async () => {
      const checked = assertRole(role);
      await this.connection.writeTransaction(async (trx) => {
        const teamRow = await trx
          .selectFrom('teams')
          .select('id')
          .where('name', '=', team)
          .executeTakeFirst();
        if (!teamRow)
          throw new QuiverError(
            'E_NOT_FOUND',
            `No team '${team}'; create it with 'quiver server team create ${team}'.`,
          );
        const userRow = await trx
          .selectFrom('users')
          .select('id')
          .where('name', '=', user)
          .executeTakeFirst();
        if (!userRow)
          throw new QuiverError(
            'E_NOT_FOUND',
            `No user '${user}'; create it with 'quiver server user create ${user}'.`,
          );
        await trx
          .insertInto('memberships')
          .values({ team_id: teamRow.id, user_id: userRow.id, role: checked, added_at: now() })
          .onConflict((conflict) => conflict.columns(['team_id', 'user_id']).doUpdateSet({ role: checked }))
          .execute();
      });
      return this.team(team);
    });
  }

  async removeMember(team: string, user: string): Promise<TeamInfo> {
    return this.changing(async () => {
      const teamRow = await this.db
        .selectFrom('teams')
        .select('id')
        .where('name', '=', team)
        .executeTakeFirst();
      const userRow = await this.db
        .selectFrom('users')
        .select('id')
        .where('name', '=', user)
        .executeTakeFirst();
      if (!teamRow || !userRow)
        throw new QuiverError('E_NOT_FOUND', `No member '${user}' of a team '${team}'.`);
      await this.db
        .deleteFrom('memberships')
        .where('team_id', '=', teamRow.id)
        .where('user_id', '=', userRow.id)
        .execute();
      return this.team(team);
    });
  }

  /** Makes a key for a user; the returned `key` is the only copy there will be. */
  async createKey(user: string, name: string): Promise<CreatedApiKey> {
    if (typeof name !== 'string' || name.trim() === '' || name.length > 100)
      throw new QuiverError(
        'E_INVALID_OPTION',
        'A key needs a name of 1–100 characters, such as "ci" or "laptop".',
      );
    const userRow = await this.db
      .selectFrom('users')
      .select('id')
      .where('name', '=', user)
      .executeTakeFirst();
    if (!userRow) throw new QuiverError('E_NOT_FOUND', `No user '${user}'.`);
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = await this.db
      .insertInto('api_keys')
      .values({
        uid: newUid(),
        user_id: userRow.id,
        name: name.trim(),
        hash: hashOf(key),
        hint: `…${key.slice(-4)}`,
        created_at: now(),
        last_used_at: null,
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...toKey(row, user), key };
  }

  async keys(user?: string): Promise<ApiKeyInfo[]> {
    let query = this.db
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.user_id')
      .selectAll('k')
      .select('u.name as user');
    if (user !== undefined) query = query.where('u.name', '=', user);
    const rows = await query.orderBy('k.created_at').execute();
    return rows.map((row) => toKey(row, row.user));
  }

  /** Revokes a key by id; a revoked key authenticates nothing from then on. */
  async revokeKey(id: string): Promise<ApiKeyInfo> {
    return this.changing(async () => {
      const updated = await this.db
        .updateTable('api_keys')
        .set({ revoked_at: now() })
        .where('uid', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const row = await this.db
        .selectFrom('api_keys as k')
        .innerJoin('users as u', 'u.id', 'k.user_id')
        .selectAll('k')
        .select('u.name as user')
        .where('k.uid', '=', id)
        .executeTakeFirst();
      if (!row)
        throw new QuiverError('E_NOT_FOUND', `No API key '${id}'; 'quiver server key list' shows them.`);
      if (Number(updated.numUpdatedRows) === 0 && row.revoked_at === null)
        throw new QuiverError('E_INTERNAL', `Could not revoke key '${id}'.`);
      return toKey(row, row.user);
    });
  }

  /** Who a key acts for, or undefined for an unknown, malformed or revoked key. */
  async authenticate(key: string): Promise<Identity | undefined> {
    if (!KEY_PATTERN.test(key)) return undefined;
    const digest = hashOf(key);
    const cached = this.identities.get(digest);
    if (cached !== undefined && cached.until > Date.now()) return cached.identity;
    const generation = this.generation;
    const identity = await this.lookUp(digest);
    if (identity === undefined) this.identities.delete(digest);
    else if (generation === this.generation) {
      if (this.identities.size >= IDENTITY_CACHE_SIZE) this.identities.clear();
      this.identities.set(digest, { identity, until: Date.now() + IDENTITY_CACHE_MS });
    }
    return identity;
  }

  private async lookUp(digest: string): Promise<Identity | undefined> {
    const row = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.user_id')
      .select([
        'k.id as keyId',
        'k.hash',
        'k.revoked_at',
        'k.last_used_at',
        'u.id as userId',
        'u.name',
        'u.is_admin',
      ])
      .where('k.hash', '=', digest)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) return undefined;
    if (!timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(digest, 'hex'))) return undefined;
    const lastUsed = row.last_used_at === null ? 0 : Date.parse(row.last_used_at);
    if (Date.now() - lastUsed > LAST_USED_RESOLUTION_MS)
      await this.db
        .updateTable('api_keys')
        .set({ last_used_at: now() })
        .where('id', '=', row.keyId)
        .execute();
    return this.identityOf(row.userId, row.name, row.is_admin === 1);
  }

  private async identityOf(userId: number, name: string, admin: boolean): Promise<Identity> {
    const teams = await this.db
      .selectFrom('memberships as m')
      .innerJoin('teams as t', 't.id', 'm.team_id')
      .select(['t.name', 'm.role'])
      .where('m.user_id', '=', userId)
      .orderBy('t.name')
      .execute();
    return {
      actor: name,
      entity: name,
      admin,
      memberships: [
        { entity: name, role: 'admin' },
        ...teams.map((team) => ({ entity: team.name, role: team.role as Role })),
      ],
    };
  }

  /**
   * Sets (or replaces) a user's password for signing in to the web UI, and ends every session the
   * user has, so a changed password locks out whoever knew the old one.
   */
  async setPassword(user: string, password: string): Promise<void> {
    if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > MAX_PASSWORD)
      throw new QuiverError(
        'E_INVALID_OPTION',
        `A password is ${MIN_PASSWORD} to ${MAX_PASSWORD} characters; a passphrase of a few words will do.`,
      );
    const hash = await hashPassword(password);
    await this.changing(async () => {
      const row = await this.db.selectFrom('users').select('id').where('name', '=', user).executeTakeFirst();
      if (!row) throw new QuiverError('E_NOT_FOUND', `No user '${user}'.`);
      await this.connection.writeTransaction(async (trx) => {
        await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', row.id).execute();
        await trx.deleteFrom('sessions').where('user_id', '=', row.id).execute();
      });
    });
  }

  /** True when `password` is the user's (false too when the user has none); counted like a sign-in. */
  async passwordIs(user: string, password: string): Promise<boolean> {
    try {
      await this.startSessionCheck(user, password);
      return true;
    } catch (error) {
      if (error instanceof QuiverError && error.code === 'E_UNAUTHORIZED') return false;
      throw error;
    }
  }

  private readonly failures = new Map<string, { count: number; since: number }>();

  /**
   * Signs in with an API key or a user name and password, and starts a browser session: the
   * returned `token` goes into an HttpOnly cookie and is stored nowhere else (only its sha256
   * is kept). A session made from a key ends when that key is revoked. Wrong credentials all get
   * the same answer, and a name with ten failures in a row is refused for fifteen minutes.
   */
  async startSession(
    credentials: { apiKey: string } | { username: string; password: string },
  ): Promise<{ token: string; identity: Identity; expiresAt: string }> {
    let userId: number;
    let keyId: number | null = null;
    if ('apiKey' in credentials) {
      const key = typeof credentials.apiKey === 'string' ? credentials.apiKey.trim() : '';
      const row = KEY_PATTERN.test(key)
        ? await this.db
            .selectFrom('api_keys')
            .select(['id', 'user_id', 'revoked_at'])
            .where('hash', '=', hashOf(key))
            .executeTakeFirst()
        : undefined;
      if (!row || row.revoked_at !== null)
        throw new QuiverError('E_UNAUTHORIZED', 'That API key is not valid (unknown or revoked).');
      userId = row.user_id;
      keyId = row.id;
    } else {
      userId = await this.startSessionCheck(credentials.username, credentials.password);
    }
    const token = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS).toISOString();
    // Every sign-in sweeps the sessions that have expired, so the table holds only live ones.
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now()).execute();
    await this.db
      .insertInto('sessions')
      .values({
        hash: hashOf(token),
        user_id: userId,
        api_key_id: keyId,
        created_at: now(),
        expires_at: expiresAt,
      })
      .execute();
    const identity = await this.identityOfSession(hashOf(token));
    if (!identity) throw new QuiverError('E_INTERNAL', 'The new session could not be read back.');
    return { token, identity, expiresAt };
  }

  /** Checks a user name and password, counting the attempt; the user's row id, or E_UNAUTHORIZED. */
  private async startSessionCheck(username: unknown, given: unknown): Promise<number> {
    const name = typeof username === 'string' ? username.slice(0, 200) : '';
    const password = typeof given === 'string' ? given : '';
    const refused = new QuiverError('E_UNAUTHORIZED', 'The user name or password is wrong.');
    // The attempt counts before any await, so a burst of guesses in parallel is counted whole;
    // a success forgives it. Names are kept oldest-first and the oldest dropped when full, so
    // no flood of other names resets a locked one. (Per process: N replicas allow N× the tries.)
    const recent = this.failures.get(name);
    const entry = recent && Date.now() - recent.since < LOCKOUT_MS ? recent : { count: 0, since: Date.now() };
    if (entry.count >= MAX_FAILURES)
      throw new QuiverError(
        'E_UNAUTHORIZED',
        'Too many failed sign-ins for this user; wait 15 minutes, or sign in with an API key.',
      );
    entry.count++;
    this.failures.delete(name);
    this.failures.set(name, entry);
    if (this.failures.size > IDENTITY_CACHE_SIZE) this.failures.delete(this.failures.keys().next().value!);
    const row =
      name === '' || password.length > MAX_PASSWORD
        ? undefined
        : await this.db
            .selectFrom('users')
            .select(['id', 'password_hash'])
            .where('name', '=', name)
            .executeTakeFirst();
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    const matches = await checkingPasswords(async () =>
      passwordMatches(password, row?.password_hash ?? (await decoyHash!)),
    );
    if (!row || row.password_hash === null || !matches) throw refused;
    this.failures.delete(name);
    return row.id;
  }

  /** Who a session token acts for, or undefined for an unknown, expired or revoked one. */
  async authenticateSession(token: string): Promise<Identity | undefined> {
    if (!SESSION_PATTERN.test(token)) return undefined;
    return this.identityOfSession(hashOf(token));
  }

  /** Ends a session (signing out); an unknown token is already ended. */
  async endSession(token: string): Promise<void> {
    if (!SESSION_PATTERN.test(token)) return;
    await this.changing(async () => {
      await this.db.deleteFrom('sessions').where('hash', '=', hashOf(token)).execute();
    });
  }

  private async identityOfSession(digest: string): Promise<Identity | undefined> {
    const cacheKey = `session:${digest}`;
    const cached = this.identities.get(cacheKey);
    if (cached !== undefined && cached.until > Date.now()) return cached.identity;
    const generation = this.generation;
    const row = await this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .leftJoin('api_keys as k', 'k.id', 's.api_key_id')
      .select([
        's.hash',
        's.expires_at',
        's.api_key_id',
        'k.revoked_at',
        'u.id as userId',
        'u.name',
        'u.is_admin',
      ])
      .where('s.hash', '=', digest)
      .executeTakeFirst();
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(digest, 'hex'))) return undefined;
    if (Date.parse(row.expires_at) <= Date.now() || (row.api_key_id !== null && row.revoked_at !== null)) {
      await this.db.deleteFrom('sessions').where('hash', '=', digest).execute();
      return undefined;
    }
    const identity = await this.identityOf(row.userId, row.name, row.is_admin === 1);
    if (generation === this.generation) {
      if (this.identities.size >= IDENTITY_CACHE_SIZE) this.identities.clear();
      this.identities.set(cacheKey, { identity, until: Date.now() + IDENTITY_CACHE_MS });
    }
    return identity;
  }

  /** True when `name` is a user or a team (for a server admin's checks; never shown to others). */
  async entityExists(name: string): Promise<boolean> {
    const user = await this.db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
    if (user) return true;
    const team = await this.db.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirst();
    return team !== undefined;
  }
}
