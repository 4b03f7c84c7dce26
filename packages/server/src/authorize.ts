import {
  type EmbeddedBackend,
  type Identity,
  parseRef,
  QuiverError,
  ROLES,
  type Role,
  type WireRole,
} from '@quiver/core';

/** The role a user holds in an entity, or undefined when it holds none (a server admin holds admin everywhere). */
export function roleIn(identity: Identity, entity: string): Role | undefined {
  if (identity.admin) return 'admin';
  return identity.memberships.find((membership) => membership.entity === entity)?.role;
}

const rank = (role: Role | WireRole): number => ROLES.indexOf(role as Role);

/**
 * The answer to an entity the user may not see is the answer to one that does not exist, so an
 * outsider learns nothing of which names exist.
 */
export function notFound(entity: string): QuiverError {
  return new QuiverError(
    'E_NOT_FOUND',
    `Nothing named '${entity}' that this key can reach. Check the name, or ask an admin of it for access.`,
    { details: { entity } },
  );
}

/** Throws unless the user holds at least `needed` in `entity` (not-found when it holds nothing). */
export function requireRole(identity: Identity, entity: string, needed: WireRole): Role {
  const held = roleIn(identity, entity);
  if (held === undefined) throw notFound(entity);
  if (rank(held) < rank(needed))
    throw new QuiverError(
      'E_FORBIDDEN',
      `This needs the ${needed} role in '${entity}'; this key's user is a ${held} there. Ask an admin of '${entity}'.`,
      { details: { entity, role: held, needed } },
    );
  return held;
}

/** The entity a ref names (the request's default entity when it names none). */
export function entityOfRef(ref: unknown, fallback: string): string {
  if (typeof ref !== 'string') return fallback;
  try {
    return parseRef(ref).entity ?? fallback;
  } catch {
    // A malformed ref: the backend refuses it with its own message.
    return fallback;
  }
}

const explicit = (value: unknown): string | undefined =>
  value !== null && typeof value === 'object' && typeof (value as { entity?: unknown }).entity === 'string'
    ? (value as { entity: string }).entity
    : undefined;

/** What one call needs: the entities it acts in, each with the least role there. */
export type Needs = Array<{ entity: string; role: WireRole }>;

/**
 * The entities a contract call acts in, read from its arguments (explicit `entity` fields, refs,
 * and the owners of runs and versions named by id), with the role each needs. Every operation of
 * the wire table has a case here; the authorization suite checks that none is missing.
 */
export async function needsOf(
  backend: EmbeddedBackend,
  api: string,
  method: string,
  args: unknown[],
  entity: string,
  role: WireRole,
): Promise<Needs> {
  const of = (value: unknown) => explicit(value) ?? entity;
  const runOwner = async (runId: unknown): Promise<string> => {
    const owner = typeof runId === 'string' ? await backend.entityOfRun(runId) : undefined;
    if (owner === undefined)
      throw new QuiverError('E_NOT_FOUND', `No run '${String(runId)}' that this key can reach.`);
    return owner;
  };
  const key = `${api}.${method}`;
  switch (key) {
    case 'runs.create':
    case 'runs.list':
    case 'runs.projects':
    case 'artifacts.typeOf':
    case 'artifacts.list':
    case 'artifacts.versions':
    case 'registry.createRegistry':
    case 'registry.createModel':
    case 'registry.models':
    case 'registry.model':
    case 'registry.rename':
    case 'registry.updateCard':
    case 'registry.tag':
    case 'registry.deleteModel':
    case 'registry.version':
    case 'registry.setAlias':
    case 'registry.removeAlias':
    case 'registry.history':
    case 'registry.unlink':
      return [{ entity: of(args[0]), role }];
    case 'registry.registries':
      return [{ entity: typeof args[0] === 'string' ? args[0] : entity, role }];
    case 'runs.heartbeat':
    case 'runs.appendHistory':
    case 'runs.finish':
    case 'runs.get':
    case 'runs.history':
    case 'runs.inputs':
    case 'runs.outputs':
    case 'runs.series':
      return [{ entity: await runOwner(args[0]), role }];
    case 'runs.recordUse':
      return [
        { entity: await runOwner(args[0]), role },
        { entity: entityOfRef(args[1], entity), role: 'viewer' },
      ];
    case 'artifacts.missingBlobs':
      return [{ entity, role }];
    case 'artifacts.commit': {
      const input = args[0] as { runId?: unknown } | undefined;
      const needs: Needs = [{ entity: of(input), role }];
      if (typeof input?.runId === 'string')
        needs.push({ entity: await runOwner(input.runId), role: 'member' });
      return needs;
    }
    case 'artifacts.resolve':
    case 'artifacts.setAlias':
    case 'artifacts.removeAlias':
    case 'artifacts.tag':
    case 'artifacts.deleteVersion':
    case 'artifacts.lineage':
      return [{ entity: entityOfRef(args[0], entity), role }];
    case 'artifacts.entries':
    case 'artifacts.files': {
      const owner = typeof args[0] === 'string' ? await backend.entityOfVersion(args[0]) : undefined;
      if (owner === undefined)
        throw new QuiverError('E_NOT_FOUND', `No version '${String(args[0])}' that this key can reach.`);
      return [{ entity: owner, role }];
    }
    case 'registry.link':
      return [
        { entity: entityOfRef(args[0], entity), role: 'viewer' },
        { entity: of(args[1]), role },
      ];
    case 'maintenance.verify':
    case 'maintenance.gc':
      return [];
    default:
      throw new QuiverError('E_INTERNAL', `No access rule for ${key}; the server refuses it.`);
  }
}

/** Operations whose `force` option guards protected aliases: on a server, the role decides instead. */
export const FORCE_BY_ROLE: Record<string, number> = {
  'registry.setAlias': 2,
  'registry.removeAlias': 2,
  'registry.link': 2,
  'registry.unlink': 1,
};
