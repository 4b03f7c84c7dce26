import {
  API_PREFIX,
  AUTOMATION_TRIGGERS,
  assertWebhookUrl,
  type CreateAutomationInput,
  type EmbeddedBackend,
  QuiverError,
  type WireRole,
} from '@quiver/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireRole } from './authorize.js';
import type { EgressPolicy } from './webhooks/egress.js';

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

const text = (max = 1024) => z.string().max(max);
const createBody = z.strictObject({
  name: text(128),
  scope: z
    .strictObject({
      entity: text(128).optional(),
      project: text(128).optional(),
      registry: text(128).optional(),
      model: text(128).optional(),
    })
    .optional(),
  trigger: z.enum(AUTOMATION_TRIGGERS as [string, ...string[]]),
  filter: text(500).optional(),
  threshold: z
    .strictObject({
      metric: text(256),
      op: z.enum(['<', '<=', '>', '>=']),
      value: z.number(),
      of: z.enum(['last', 'min', 'max']).optional(),
    })
    .optional(),
  url: text(2048),
  bearerToken: text(4096).optional(),
  template: text(64 * 1024).optional(),
  description: text(10_000).optional(),
});
const resumeBody = z.strictObject({ skip: z.boolean().optional() });
const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  state: z.enum(['pending', 'delivered', 'failed', 'skipped']).optional(),
});

type Params = { id: string };

/**
 * Automations (`quiver automation …`): made, changed and deleted by admins of their entity,
 * listed and tested by its members. Webhook targets pass the egress policy when made (and again
 * at every connection, in the relay). Secrets and tokens are in no answer but the one that made
 * (or rotated) the secret.
 */
export function registerAutomationRoutes(
  app: FastifyInstance,
  backend: EmbeddedBackend,
  egress: EgressPolicy,
): void {
  const base = `${API_PREFIX}/automations`;
  const bound = (request: FastifyRequest) =>
    backend.withPrincipal({ actor: request.identity!.actor, entity: request.entity! }).automations;
  /** The automation's entity, after checking the caller's role there (404 when it holds none). */
  const authorize = async (request: FastifyRequest<{ Params: Params }>, role: WireRole): Promise<void> => {
    const entity = await backend.automations.entityOf(request.params.id);
    if (entity === undefined)
      throw new QuiverError('E_NOT_FOUND', `No automation '${request.params.id}' that this key can reach.`);
    requireRole(request.identity!, entity, role);
  };

  app.post(base, async (request) => {
    const body = parse(createBody, request.body);
    const entity = body.scope?.entity ?? request.entity!;
    requireRole(request.identity!, entity, 'admin');
    await egress.addressesOf(assertWebhookUrl(body.url).hostname);
    return bound(request).create({ ...body, scope: { ...body.scope, entity } } as CreateAutomationInput);
  });
  app.get(base, async (request) => {
    const query = parse(z.strictObject({ entity: text(128).optional() }), request.query);
    const entity = query.entity ?? request.entity!;
    requireRole(request.identity!, entity, 'member');
    return backend.automations.list(entity);
  });
  app.get<{ Params: Params }>(`${base}/:id`, async (request) => {
    await authorize(request, 'member');
    return backend.automations.get(request.params.id);
  });
  app.delete<{ Params: Params }>(`${base}/:id`, async (request) => {
    await authorize(request, 'admin');
    return backend.automations.delete(request.params.id);
  });
  app.post<{ Params: Params }>(`${base}/:id/pause`, async (request) => {
    await authorize(request, 'admin');
    return backend.automations.pause(request.params.id);
  });
  app.post<{ Params: Params }>(`${base}/:id/resume`, async (request) => {
    await authorize(request, 'admin');
    return backend.automations.resume(request.params.id, parse(resumeBody, request.body));
  });
  app.post<{ Params: Params }>(`${base}/:id/rotate-secret`, async (request) => {
    await authorize(request, 'admin');
    return backend.automations.rotateSecret(request.params.id);
  });
  app.post<{ Params: Params }>(`${base}/:id/test`, async (request) => {
    await authorize(request, 'member');
    return bound(request).test(request.params.id);
  });
  app.get<{ Params: Params }>(`${base}/:id/deliveries`, async (request) => {
    await authorize(request, 'member');
    return backend.automations.deliveries(request.params.id, parse(deliveriesQuery, request.query));
  });
  app.post<{ Params: Params & { delivery: string } }>(
    `${base}/:id/deliveries/:delivery/redeliver`,
    async (request) => {
      await authorize(request, 'admin');
      if ((await backend.automations.automationOfDelivery(request.params.delivery)) !== request.params.id)
        throw new QuiverError(
          'E_NOT_FOUND',
          `No delivery '${request.params.delivery}' of automation '${request.params.id}'.`,
        );
      return backend.automations.redeliver(request.params.delivery);
    },
  );
}
