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

const listQuery = z.strictObject({ entity: text(128).optional() });
const empty = z.strictObject({});

type Request = FastifyRequest<{ Params: { id?: string; delivery?: string } }>;

/** One automation route: where it is, who may call it, what it takes (the OpenAPI document reads these). */
export interface AutomationOperation {
  id: string;
  verb: 'GET' | 'POST' | 'DELETE';
  /** Under the API prefix, with `:name` parameters. */
  path: string;
  /** The least role in the automation's entity (for create and list: the entity named). */
  role: WireRole;
  /** The query string (GET) or JSON body (POST) it takes. */
  input: z.ZodType;
}

/** Every automation route. */
export const AUTOMATION_OPERATIONS: readonly AutomationOperation[] = [
  { id: 'automations.create', verb: 'POST', path: '/automations', role: 'admin', input: createBody },
  { id: 'automations.list', verb: 'GET', path: '/automations', role: 'member', input: listQuery },
  { id: 'automations.get', verb: 'GET', path: '/automations/:id', role: 'member', input: empty },
  { id: 'automations.delete', verb: 'DELETE', path: '/automations/:id', role: 'admin', input: empty },
  { id: 'automations.pause', verb: 'POST', path: '/automations/:id/pause', role: 'admin', input: empty },
  {
    id: 'automations.resume',
    verb: 'POST',
    path: '/automations/:id/resume',
    role: 'admin',
    input: resumeBody,
  },
  {
    id: 'automations.rotateSecret',
    verb: 'POST',
    path: '/automations/:id/rotate-secret',
    role: 'admin',
    input: empty,
  },
  { id: 'automations.test', verb: 'POST', path: '/automations/:id/test', role: 'member', input: empty },
  {
    id: 'automations.deliveries',
    verb: 'GET',
    path: '/automations/:id/deliveries',
    role: 'member',
    input: deliveriesQuery,
  },
  {
    id: 'automations.redeliver',
    verb: 'POST',
    path: '/automations/:id/deliveries/:delivery/redeliver',
    role: 'admin',
    input: empty,
  },
];

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
  const { automations } = backend;
  const bound = (request: Request) =>
    backend.withPrincipal({ actor: request.identity!.actor, entity: request.entity! }).automations;
  type Handler = (request: Request, input: never) => Promise<unknown>;
  const handlers: Record<string, Handler> = {
    'automations.create': async (request, body: z.infer<typeof createBody>) => {
      await egress.addressesOf(assertWebhookUrl(body.url).hostname);
      const entity = body.scope?.entity ?? request.entity!;
      return bound(request).create({ ...body, scope: { ...body.scope, entity } } as CreateAutomationInput);
    },
    'automations.list': async (request, query: z.infer<typeof listQuery>) =>
      automations.list(query.entity ?? request.entity!),
    'automations.get': async (request) => automations.get(request.params.id!),
    'automations.delete': async (request) => automations.delete(request.params.id!),
    'automations.pause': async (request) => automations.pause(request.params.id!),
    'automations.resume': async (request, body: z.infer<typeof resumeBody>) =>
      automations.resume(request.params.id!, body),
    'automations.rotateSecret': async (request) => automations.rotateSecret(request.params.id!),
    'automations.test': async (request) => bound(request).test(request.params.id!),
    'automations.deliveries': async (request, query: z.infer<typeof deliveriesQuery>) =>
      automations.deliveries(request.params.id!, query),
    'automations.redeliver': async (request) => {
      const { id, delivery } = request.params as { id: string; delivery: string };
      if ((await automations.automationOfDelivery(delivery)) !== id)
        throw new QuiverError('E_NOT_FOUND', `No delivery '${delivery}' of automation '${id}'.`);
      return automations.redeliver(delivery);
    },
  };
  for (const operation of AUTOMATION_OPERATIONS) {
    const handler = handlers[operation.id]!;
    app.route({
      method: operation.verb,
      url: `${API_PREFIX}${operation.path}`,
      handler: async (request: Request) => {
        const input = parse(operation.input, operation.verb === 'GET' ? request.query : request.body);
        // The entity whose role decides: the automation's, or for create and list the one named.
        const id = request.params.id;
        let entity: string;
        if (id !== undefined) {
          const owner = await automations.entityOf(id);
          if (owner === undefined)
            throw new QuiverError('E_NOT_FOUND', `No automation '${id}' that this key can reach.`);
          entity = owner;
        } else
          entity =
            (input as { scope?: { entity?: string }; entity?: string }).scope?.entity ??
            (input as { entity?: string }).entity ??
            request.entity!;
        requireRole(request.identity!, entity, operation.role);
        return handler(request, input as never);
      },
    });
  }
}
