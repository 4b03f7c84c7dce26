import { API_PREFIX, type EmbeddedBackend, QuiverError, type Role } from '@quiver/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireRole } from './authorize.js';

function requireAdmin(request: FastifyRequest): void {
  if (!request.identity?.admin)
    throw new QuiverError('E_FORBIDDEN', 'Managing users, teams and keys is for server admins.');
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new QuiverError(
      'E_INVALID_REQUEST',
      `Invalid request: ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'malformed'}.`,
    );
  }
  return parsed.data;
}

const name = z.string().min(1).max(128);
const role = z.enum(['viewer', 'member', 'admin']);

/**
 * Users, teams, memberships and keys (the CLI's `quiver server user|team|key`). Users and teams are
 * made by server admins; a team's admins manage its members; every user makes, lists and revokes
 * their own keys (a server admin those of anyone).
 */
export function registerAdminRoutes(app: FastifyInstance, backend: EmbeddedBackend): void {
  const { accounts } = backend;
  const admin = `${API_PREFIX}/admin`;
  app.get(`${admin}/users`, async (request) => {
    requireAdmin(request);
    return accounts.users();
  });
  app.post(`${admin}/users`, async (request, reply) => {
    requireAdmin(request);
    const body = parse(z.strictObject({ name, admin: z.boolean().optional() }), request.body);
    return reply.status(201).send(await accounts.createUser(body.name, { admin: body.admin ?? false }));
  });
  // A password for the web UI's sign-in: set by a server admin for anyone; changed by a user for
  // itself only with the current one (a leaked key alone cannot plant a password that outlives it).
  app.put<{ Params: { user: string } }>(`${admin}/users/:user/password`, async (request, reply) => {
    const identity = request.identity!;
    const self = identity.actor === request.params.user;
    if (!identity.admin && !self)
      throw new QuiverError('E_FORBIDDEN', "Only a server admin may set another user's password.");
    const body = parse(
      z.strictObject({ password: z.string().max(1024), currentPassword: z.string().max(1024).optional() }),
      request.body,
    );
    if (!identity.admin) {
      const current = body.currentPassword;
      if (current === undefined || !(await accounts.passwordIs(request.params.user, current)))
        throw new QuiverError(
          'E_FORBIDDEN',
          'To change your password, send the current one as currentPassword; without one, ask a server admin to set it.',
        );
    }
    await accounts.setPassword(request.params.user, body.password);
    return reply.status(204).send();
  });
  app.get(`${admin}/teams`, async (request) => {
    requireAdmin(request);
    return accounts.teams();
  });
  app.post(`${admin}/teams`, async (request, reply) => {
    requireAdmin(request);
    const body = parse(z.strictObject({ name }), request.body);
    return reply.status(201).send(await accounts.createTeam(body.name, request.identity!.actor));
  });
  // A team's members: its admins manage them (an outsider hears the team does not exist).
  const requireTeamAdmin = (request: FastifyRequest<{ Params: { team: string } }>) => {
    if (!request.identity!.admin) requireRole(request.identity!, request.params.team, 'admin');
  };
  app.put<{ Params: { team: string; user: string } }>(
    `${admin}/teams/:team/members/:user`,
    async (request) => {
      requireTeamAdmin(request);
      const body = parse(z.strictObject({ role }), request.body);
      return accounts.setMember(request.params.team, request.params.user, body.role as Role);
    },
  );
  app.delete<{ Params: { team: string; user: string } }>(
    `${admin}/teams/:team/members/:user`,
    async (request) => {
      requireTeamAdmin(request);
      return accounts.removeMember(request.params.team, request.params.user);
    },
  );
  app.get(`${admin}/blobs`, async (request) => {
    requireAdmin(request);
    const query = parse(
      z.strictObject({
        after: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
        limit: z.coerce.number().int().min(1).max(10_000).optional(),
      }),
      request.query,
    );
    // Sorted by digest, a page after a digest: a listing that cannot skip or repeat a blob.
    const all: Array<{ sha256: string; size: number; modifiedAt: string }> = [];
    for await (const blob of backend.blobs.list())
      if (query.after === undefined || blob.sha256 > query.after)
        all.push({ sha256: blob.sha256, size: blob.size, modifiedAt: blob.modifiedAt.toISOString() });
    all.sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
    return all.slice(0, query.limit ?? 1000);
  });
  // Keys: a user's own (a server admin's: anyone's). Another user's key is not found, not forbidden.
  const ownerOf = (request: FastifyRequest, user: string | undefined): string | undefined => {
    const identity = request.identity!;
    if (identity.admin) return user;
    if (user !== undefined && user !== identity.actor)
      throw new QuiverError('E_FORBIDDEN', "Only server admins see or make other users' keys.");
    return identity.actor;
  };
  app.get(`${admin}/keys`, async (request) => {
    const query = parse(z.strictObject({ user: name.optional() }), request.query);
    return accounts.keys(ownerOf(request, query.user));
  });
  app.post(`${admin}/keys`, async (request, reply) => {
    const body = parse(
      z.strictObject({ user: name.optional(), name: z.string().min(1).max(100) }),
      request.body,
    );
    const user = ownerOf(request, body.user) ?? request.identity!.actor;
    return reply.status(201).send(await accounts.createKey(user, body.name));
  });
  app.post<{ Params: { id: string } }>(`${admin}/keys/:id/revoke`, async (request) => {
    const identity = request.identity!;
    if (!identity.admin && !(await accounts.keys(identity.actor)).some((key) => key.id === request.params.id))
      throw new QuiverError(
        'E_NOT_FOUND',
        `No API key '${request.params.id}' of yours; 'quiver server key ls' shows them.`,
      );
    return accounts.revokeKey(request.params.id);
  });
}
