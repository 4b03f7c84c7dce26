import { API_PREFIX, wireOperations } from '@quiver/core';
import { z } from 'zod';
import { AUTOMATION_OPERATIONS } from './automation-routes.js';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'message', 'details'],
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
};

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document of the API, generated from the wire table's schemas. */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { api, method, operation } of wireOperations()) {
    const path = `${API_PREFIX}${operation.path.replace(/:([A-Za-z0-9]+)/g, '{$1}')}`;
    const schema = z.toJSONSchema(operation.input, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
    const parameters: Array<Record<string, unknown>> = [...operation.path.matchAll(/:([A-Za-z0-9]+)/g)].map(
      (match) => ({
        name: match[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }),
    );
    if (operation.verb === 'GET') {
      const properties = (schema.properties ?? {}) as Record<string, unknown>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      for (const [name, property] of Object.entries(properties))
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          schema: property,
        });
    } else
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string' },
        description:
          'Names this write: sent again within 24 h, it gets the first answer (header idempotent-replayed: true) instead of writing twice.',
      });
    paths[path] ??= {};
    paths[path][operation.verb.toLowerCase()] = {
      operationId: `${api}.${method}`,
      tags: [api],
      'x-quiver-role': operation.role,
      'x-quiver-idempotent': operation.idempotent,
      parameters,
      ...(operation.verb === 'GET'
        ? {}
        : { requestBody: { required: true, content: { 'application/json': { schema } } } }),
      responses: {
        '200': { description: 'The result, as JSON.' },
        '204': { description: 'Done; no result.' },
        default: { description: 'An error.', content: { 'application/json': { schema: ERROR_SCHEMA } } },
      },
      security: [{ apiKey: [] }],
    };
  }
  for (const operation of AUTOMATION_OPERATIONS) {
    const path = `${API_PREFIX}${operation.path.replace(/:([A-Za-z0-9]+)/g, '{$1}')}`;
    const schema = z.toJSONSchema(operation.input, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
    const parameters: Array<Record<string, unknown>> = [...operation.path.matchAll(/:([A-Za-z0-9]+)/g)].map(
      (match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }),
    );
    if (operation.verb === 'GET')
      for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, unknown>))
        parameters.push({ name, in: 'query', required: false, schema: property });
    paths[path] ??= {};
    paths[path][operation.verb.toLowerCase()] = {
      operationId: operation.id,
      tags: ['automations'],
      'x-quiver-role': operation.role,
      parameters,
      ...(operation.verb === 'POST'
        ? { requestBody: { required: false, content: { 'application/json': { schema } } } }
        : {}),
      responses: {
        '200': { description: 'The result, as JSON.' },
        default: { description: 'An error.', content: { 'application/json': { schema: ERROR_SCHEMA } } },
      },
      security: [{ apiKey: [] }],
    };
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'Quiver server', version: '1' },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
  return cached;
}
