import { API_PREFIX, wireOperations } from '@quiver/core';
import { openApiDocument } from '@quiver/server';
import { describe, expect, it } from 'vitest';

describe('the OpenAPI document', () => {
  it('describes every operation of the wire table with its verb, path parameters and input schema', () => {
    const document = openApiDocument() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string;
            parameters: Array<{ name: string; in: string }>;
            requestBody?: { content: Record<string, { schema: { type?: string; properties?: object } }> };
          }
        >
      >;
    };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.values(document.paths).flatMap((path) => Object.values(path));
    const ids = operations.map((operation) => operation.operationId).sort();
    const automations = [
      'automations.create',
      'automations.delete',
      'automations.deliveries',
      'automations.get',
      'automations.list',
      'automations.pause',
      'automations.redeliver',
      'automations.resume',
      'automations.rotateSecret',
      'automations.test',
    ];
    expect(ids).toEqual(
      [...wireOperations().map(({ api, method }) => `${api}.${method}`), ...automations].sort(),
    );
    const create = document.paths[`${API_PREFIX}/automations`]!.post!;
    expect(Object.keys(create.requestBody!.content['application/json']!.schema.properties!)).toEqual(
      expect.arrayContaining(['name', 'trigger', 'url', 'filter', 'scope']),
    );
    expect(
      document.paths[`${API_PREFIX}/automations/{id}/deliveries/{delivery}/redeliver`]!.post,
    ).toBeDefined();
    const commit = document.paths[`${API_PREFIX}/versions`]!.post!;
    const schema = commit.requestBody!.content['application/json']!.schema;
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties!)).toEqual(expect.arrayContaining(['project', 'name', 'manifest']));
    const history = document.paths[`${API_PREFIX}/runs/{runId}/history`]!.get!;
    expect(history.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'runId', in: 'path' }),
        expect.objectContaining({ name: 'limit', in: 'query' }),
      ]),
    );
  });
});
