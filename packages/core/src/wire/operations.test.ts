import { describe, expect, it } from 'vitest';
import { WIRE_CALLS, type WireCall } from './operations.js';
import { WIRE_OPERATIONS, wireOperations } from './routes.js';

const methodsOf = (tables: object) =>
  Object.fromEntries(Object.entries(tables).map(([api, table]) => [api, Object.keys(table)]));

describe('the two halves of the wire table', () => {
  it('have the same APIs and methods, in the same order', () => {
    expect(methodsOf(WIRE_OPERATIONS)).toEqual(methodsOf(WIRE_CALLS));
  });

  it('give every operation its call unchanged (the same encode function, too)', () => {
    const calls = WIRE_CALLS as unknown as Record<string, Record<string, WireCall>>;
    for (const { api, method, operation } of wireOperations()) {
      const { verb, path, idempotent, role, encode } = operation;
      expect({ verb, path, idempotent, role, encode }, `${api}.${method}`).toStrictEqual(calls[api]![method]);
    }
  });
});
