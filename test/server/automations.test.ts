import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  Artifact,
  type AutomationInfo,
  type CreatedAutomation,
  type DeliveryInfo,
  type EmbeddedBackend,
  openEmbeddedStore,
  openStore,
  QuiverClient,
  type Store,
} from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Received, startReceiver, type TestReceiver } from '../support/webhook-receiver.js';

let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let url: string;
let receiver: TestReceiver;
const logLines: string[] = [];
const keys: Record<string, string> = {};
let client: QuiverClient;

async function call<T = Record<string, unknown>>(
  user: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${url}${API_PREFIX}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${keys[user]}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, text };
}

async function create(input: Record<string, unknown>): Promise<CreatedAutomation> {
  const created = await call<CreatedAutomation>('mia', 'POST', '/automations', {
    url: receiver.url,
    ...input,
  });
  expect(created.status, created.text).toBe(200);
  return created.body;
}

const deliveries = async (id: string) =>
  (await call<DeliveryInfo[]>('mia', 'GET', `/automations/${id}/deliveries`)).body;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const verify = (secret: string, webhook: Received) =>
  new Webhook(secret).verify(webhook.body, {
    'webhook-id': String(webhook.headers['webhook-id']),
    'webhook-timestamp': String(webhook.headers['webhook-timestamp']),
    'webhook-signature': String(webhook.headers['webhook-signature']),
  });

let versions = 0;
/** Commits a new version of team/proj/weights and links it into team's registry model `classifier`. */
async function linkNewVersion(aliases: string[] = []): Promise<number> {
  const version = await client.commit(
    new Artifact('weights', 'model').addBytes('w.bin', `weights ${versions++} ${Math.random()}`),
    { project: 'proj' },
  );
  const linked = await client.registry.link(
    version.ref,
    { entity: 'team', model: 'classifier' },
    {
      create: true,
      aliases,
    },
  );
  return linked.version.version;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-automations-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  const { accounts } = store.backend;
  await accounts.createUser('mia');
  await accounts.createUser('vic');
  await accounts.createTeam('team', 'mia');
  await accounts.setMember('team', 'mia', 'admin');
  await accounts.setMember('team', 'vic', 'member');
  for (const user of ['mia', 'vic']) keys[user] = (await accounts.createKey(user, 'tests')).key;
  app = await buildServer({
    backend: store.backend,
    logger: { level: 'info', stream: { write: (line) => void logLines.push(line) } },
    webhooks: { allow: ['127.0.0.1/32'], retryBaseMs: 200, pollMs: 50, maxAttempts: 5, housekeepingMs: 100 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // mia's client, acting in team through the server.
  client = new QuiverClient(
    await openStore({ baseUrl: url, apiKey: keys.mia!, dir: join(dir, 'client'), entity: 'team' }),
  );
});

afterAll(async () => {
  await client.close();
  await app.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  receiver = await startReceiver();
  return () => receiver.close();
});

describe('automations on the team server', () => {
  it('moving production delivers one signed webhook that standardwebhooks verifies; staging is filtered out', async () => {
    const automation = await create({
      name: 'deploy-on-production',
      scope: { entity: 'team', registry: 'model', model: 'classifier' },
      trigger: 'registry.alias.added',
      filter: '^production$',
    });
    expect(automation.secret).toMatch(/^whsec_/);
    const v = await linkNewVersion(['staging']);
    await client.registry.setAlias(`team/registry/classifier:v${v}`, 'production', { force: true });
    const [webhook] = await receiver.waitFor(1);
    // Nothing else comes: the staging alias and latest were filtered out.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    const payload = verify(automation.secret, webhook!) as Received['json'];
    expect(payload.type).toBe('registry.alias.added');
    expect(payload.data).toMatchObject({
      alias: 'production',
      actor: 'mia',
      registeredModel: 'team/registry/classifier',
      versionRef: `team/registry/classifier:v${v}`,
      artifact: { type: 'model', ref: expect.stringMatching(/^team\/proj\/weights:v\d+$/) },
    });
    expect(webhook!.headers['webhook-id']).toMatch(/^msg_/);
    // A tampered body does not verify.
    expect(() =>
      verify(automation.secret, { ...webhook!, body: webhook!.body.replace('production', 'prod') }),
    ).toThrow();
    const log = await deliveries(automation.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ state: 'delivered', attempts: 1, id: webhook!.headers['webhook-id'] });
    expect(log[0]!.log[0]).toMatchObject({ attempt: 1, status: 200 });
  });

  it('retries 503 three times with growing delays, then delivers: four attempts in the log', async () => {
    receiver.answer = (index, _request, response) => {
      if (index < 3) {
        response.writeHead(503).end('busy');
        return true;
      }
      return undefined;
    };
    const automation = await create({
      name: 'retrying',
      trigger: 'artifact.version.created',
      scope: { entity: 'team' },
    });
    await client.commit(new Artifact('retry-me', 'dataset').addBytes('a.txt', `a ${Math.random()}`), {
      project: 'proj',
    });
    const got = await receiver.waitFor(4, 30_000);
    const ids = new Set(got.map((webhook) => webhook.headers['webhook-id']));
    expect(ids.size).toBe(1); // one webhook, four attempts
    const gaps = got.slice(1).map((webhook, i) => webhook.at - got[i]!.at);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]!);
    const [delivery] = await until('the log', async () => {
      const log = await deliveries(automation.id);
      return log[0]?.state === 'delivered' ? log : undefined;
    });
    expect(delivery!.attempts).toBe(4);
    expect(delivery!.log.map((attempt) => attempt.status)).toEqual([503, 503, 503, 200]);
    expect(delivery!.log.slice(0, 3).every((attempt) => attempt.nextAttemptAt !== null)).toBe(true);
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });

  it('delivers one model’s events in commit order, and a paused automation resumes where it stopped or skips', async () => {
    const automation = await create({
      name: 'ordered',
      scope: { entity: 'team', registry: 'model', model: 'classifier' },
      trigger: 'registry.alias.added',
      filter: '^candidate$',
    });
    const first = await linkNewVersion();
    const second = await linkNewVersion();
    for (let i = 0; i < 10; i++)
      await client.registry.setAlias(`team/registry/classifier:v${i % 2 ? second : first}`, 'candidate');
    const got = await receiver.waitFor(10);
    const positions = got.map((webhook) => (webhook.json.data.event as { position: number }).position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(got.map((webhook) => webhook.json.data.version)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? second : first)),
    );

    // Paused: events queue, nothing is sent; resumed: sent in order.
    expect(
      (await call<AutomationInfo>('mia', 'POST', `/automations/${automation.id}/pause`)).body.state,
    ).toBe('paused');
    for (let i = 0; i < 4; i++)
      await client.registry.setAlias(`team/registry/classifier:v${i % 2 ? second : first}`, 'candidate');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(10);
    await call('mia', 'POST', `/automations/${automation.id}/resume`, {});
    const resumed = await receiver.waitFor(14);
    expect(resumed.slice(10).map((webhook) => webhook.json.data.version)).toEqual([
      first,
      second,
      first,
      second,
    ]);

    // Paused, then resumed with skip: what queued meanwhile is dropped, and marked so.
    await call('mia', 'POST', `/automations/${automation.id}/pause`);
    await client.registry.setAlias(`team/registry/classifier:v${first}`, 'candidate');
    await call('mia', 'POST', `/automations/${automation.id}/resume`, { skip: true });
    await client.registry.setAlias(`team/registry/classifier:v${second}`, 'candidate');
    const after = await receiver.waitFor(15);
    expect(after[14]!.json.data.version).toBe(second);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(15);
    expect((await deliveries(automation.id)).filter((d) => d.state === 'skipped')).toHaveLength(1);
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });

  it('a 410 disables the automation and says why; resume delivers again', async () => {
    receiver.answer = (index, _request, response) => {
      if (index === 0) {
        response.writeHead(410).end('gone');
        return true;
      }
      return undefined;
    };
    const automation = await create({
      name: 'gone',
      trigger: 'artifact.tag.added',
      scope: { entity: 'team' },
    });
    const version = await client.commit(
      new Artifact('tagged', 'dataset').addBytes('t', `t ${Math.random()}`),
      {
        project: 'proj',
      },
    );
    await client.tag(version.ref, ['reviewed']);
    await receiver.waitFor(1);
    const info = await until('disabled', async () => {
      const got = (await call<AutomationInfo>('mia', 'GET', `/automations/${automation.id}`)).body;
      return got.state === 'disabled' ? got : undefined;
    });
    expect(info.disabledReason).toMatch(/410/);
    await client.tag(version.ref, ['approved']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1); // disabled: queued, not sent
    expect(
      (await call<AutomationInfo>('mia', 'POST', `/automations/${automation.id}/resume`, {})).body.state,
    ).toBe('active');
    const [, again] = await receiver.waitFor(2);
    expect(again!.json.data.after).toMatchObject({ tags: ['approved', 'reviewed'] });
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });

  it('signs with both secrets while a rotation overlaps, sends the bearer token, fills a template', async () => {
    const automation = await create({
      name: 'templated',
      trigger: 'run.metric',
      scope: { entity: 'team', project: 'proj' },
      threshold: { metric: 'val_loss', op: '<', value: 0.1 },
      bearerToken: 'tok-0123456789-secret',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the template's own ${…} variables
      template: '{"text": "${event_author} finished ${run_path} (${run_state})", "type": "${event_type}"}',
    });
    const rotated = (
      await call<CreatedAutomation>('mia', 'POST', `/automations/${automation.id}/rotate-secret`)
    ).body;
    expect(rotated.secret).not.toBe(automation.secret);
    const finish = async (loss: number) => {
      const run = await client.store.backend.runs.create({
        id: `r${Math.random().toString(36).slice(2, 9)}`,
        entity: 'team',
        project: 'proj',
        jobType: null,
        group: null,
        tags: [],
        notes: null,
        config: {},
        host: 'h',
        pid: 1,
      });
      await client.store.backend.runs.appendHistory(run.id, {
        rows: [{ step: 0, metrics: { val_loss: loss } }],
        summary: { val_loss: { last: loss, min: loss, max: loss, step: 0 } },
      });
      await client.store.backend.runs.finish(run.id, { exitCode: 0 });
      return run.id;
    };
    await finish(0.5); // above the threshold: nothing
    const low = await finish(0.05);
    const [webhook] = await receiver.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    expect(webhook!.json).toEqual({ text: `mia finished team/proj/${low} (finished)`, type: 'run.metric' });
    expect(webhook!.headers.authorization).toBe('Bearer tok-0123456789-secret');
    expect(String(webhook!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(automation.secret, webhook!)).toBeTruthy();
    expect(verify(rotated.secret, webhook!)).toBeTruthy();
    // Neither secret nor token is in any answer after creation, nor in the server's log.
    const shown = JSON.stringify([
      (await call('mia', 'GET', `/automations/${automation.id}`)).body,
      (await call('mia', 'GET', '/automations?entity=team')).body,
      await deliveries(automation.id),
    ]);
    for (const secret of [automation.secret, rotated.secret, 'tok-0123456789-secret']) {
      expect(shown).not.toContain(secret);
      expect(logLines.join('')).not.toContain(secret);
    }
    // Nor in the database's rows: they are encrypted at rest.
    const rows = JSON.stringify(
      await store.backend.connection.db.selectFrom('automations').selectAll().execute(),
    );
    for (const secret of [automation.secret.slice(6), rotated.secret.slice(6), 'tok-0123456789'])
      expect(rows).not.toContain(secret);
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });

  it('fires every trigger on its own event, and only on it', { timeout: 60_000 }, async () => {
    const triggers = [
      'registry.link',
      'registry.unlink',
      'registry.alias.added',
      'registry.alias.removed',
      'registry.card.changed',
      'registry.tags.changed',
      'artifact.version.created',
      'artifact.version.deleted',
      'artifact.alias.added',
      'artifact.tag.added',
      'run.finished',
      'run.crashed',
    ] as const;
    const made = new Map<string, string>();
    for (const trigger of triggers) {
      const automation = await create({
        name: `every-${trigger.replaceAll('.', '-')}`,
        trigger,
        scope: { entity: 'team' },
      });
      made.set(automation.id, trigger);
    }
    // One of each event, in order.
    const version = await client.commit(new Artifact('every', 'model').addBytes('e', `e ${Math.random()}`), {
      project: 'every',
    }); // version.created (and its latest alias is not an event)
    await client.setAlias(version.ref, 'reviewed'); // artifact.alias.added
    await client.tag(version.ref, ['golden']); // artifact.tag.added
    const linked = await client.registry.link(
      version.ref,
      { entity: 'team', model: 'every' },
      { create: true },
    );
    const ref = `team/registry/every:v${linked.version.version}`;
    await client.registry.setAlias(ref, 'champion'); // registry.alias.added
    await client.registry.removeAlias('team/registry/every', 'champion'); // registry.alias.removed
    await client.registry.updateCard('team/registry/every', '# every'); // registry.card.changed
    await client.registry.tag('team/registry/every', ['vision']); // registry.tags.changed
    await client.registry.unlink(ref); // registry.unlink
    await client.deleteVersion(version.ref, { force: true }); // artifact.version.deleted
    const runs = client.store.backend.runs;
    const runInput = (id: string) => ({
      id,
      entity: 'team',
      project: 'every',
      jobType: null,
      group: null,
      tags: [],
      notes: null,
      config: {},
      host: 'h',
      pid: 1,
    });
    const ok = await runs.create(runInput(`ok${Math.random().toString(36).slice(2, 8)}`));
    await runs.finish(ok.id, { exitCode: 0 }); // run.finished
    const bad = await runs.create(runInput(`bad${Math.random().toString(36).slice(2, 8)}`));
    await runs.finish(bad.id, { exitCode: 3 }); // run.crashed (it failed)
    // A run on another host whose heartbeats stopped: the server's sweep records the crash, unread.
    const silent = await runs.create(runInput(`sil${Math.random().toString(36).slice(2, 8)}`));
    await store.backend.connection.db
      .updateTable('runs')
      .set({ host: 'elsewhere', heartbeat_at: new Date(Date.now() - 10 * 60_000).toISOString() })
      .where('id', '=', silent.id)
      .execute();

    const expected: Record<string, number> = {
      'registry.link': 1,
      'registry.unlink': 1,
      // champion, and latest as the link made it
      'registry.alias.added': 2,
      'registry.alias.removed': 1,
      'registry.card.changed': 1,
      'registry.tags.changed': 1,
      'artifact.version.created': 1,
      'artifact.version.deleted': 1,
      'artifact.alias.added': 1,
      'artifact.tag.added': 1,
      'run.finished': 1,
      'run.crashed': 2,
    };
    const total = Object.values(expected).reduce((sum, n) => sum + n, 0);
    const got = await receiver.waitFor(total, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(total);
    const counts: Record<string, number> = {};
    for (const webhook of got) counts[webhook.json.type] = (counts[webhook.json.type] ?? 0) + 1;
    expect(counts).toEqual(expected);
    const crashed = got.filter((webhook) => webhook.json.type === 'run.crashed');
    expect(crashed.map((webhook) => (webhook.json.data.run as { id: string }).id).sort()).toEqual(
      [bad.id, silent.id].sort(),
    );
    for (const id of made.keys()) await call('mia', 'DELETE', `/automations/${id}`);
  });

  it('redelivers a delivery that failed, with the same webhook-id', async () => {
    receiver.answer = (index, _request, response) => {
      if (index === 0) {
        response.writeHead(400).end('bad');
        return true;
      }
      return undefined;
    };
    const automation = await create({
      name: 'redeliver',
      trigger: 'registry.link',
      scope: { entity: 'team' },
    });
    const queued = (await call<DeliveryInfo>('mia', 'POST', `/automations/${automation.id}/test`)).body;
    await receiver.waitFor(1);
    const [failed] = await until('the failure', async () => {
      const log = await deliveries(automation.id);
      return log[0]?.state === 'failed' ? log : undefined;
    });
    expect(failed!.log[0]).toMatchObject({
      status: 400,
      error: expect.stringMatching(/refused it with 400/),
    });
    const again = await call<DeliveryInfo>(
      'mia',
      'POST',
      `/automations/${automation.id}/deliveries/${queued.id}/redeliver`,
    );
    expect(again.status).toBe(200);
    const [, second] = await receiver.waitFor(2);
    expect(second!.headers['webhook-id']).toBe(queued.id);
    const [delivered] = await until('the redelivery', async () => {
      const log = await deliveries(automation.id);
      return log[0]?.state === 'delivered' ? log : undefined;
    });
    expect(delivered!.log.map((attempt) => attempt.status)).toEqual([400, 200]);
    // A delivery id of another automation is not found through this one.
    const other = await create({ name: 'other', trigger: 'registry.link', scope: { entity: 'team' } });
    expect(
      (await call('mia', 'POST', `/automations/${other.id}/deliveries/${queued.id}/redeliver`)).status,
    ).toBe(404);
    await call('mia', 'DELETE', `/automations/${other.id}`);
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });

  it('members list and test, only admins create, change or delete; outsiders see nothing', async () => {
    const automation = await create({ name: 'roles', trigger: 'registry.link', scope: { entity: 'team' } });
    const asVic = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
      call('vic', method, path, body);
    expect((await asVic('GET', '/automations?entity=team')).status).toBe(200);
    expect((await asVic('POST', `/automations/${automation.id}/test`)).status).toBe(200);
    const [test] = await receiver.waitFor(1);
    expect(test!.json.type).toBe('automation.test');
    for (const [method, path] of [
      ['POST', `/automations/${automation.id}/pause`],
      ['POST', `/automations/${automation.id}/rotate-secret`],
      ['DELETE', `/automations/${automation.id}`],
    ] as const)
      expect((await asVic(method, path)).status, `${method} ${path}`).toBe(403);
    const made = await asVic('POST', '/automations', {
      name: 'x',
      trigger: 'registry.link',
      url: receiver.url,
      scope: { entity: 'team' },
    });
    expect(made.status).toBe(403);
    // vic's own entity is not mia's: an automation of mia's is not found for vic.
    const mine = await call<CreatedAutomation>('mia', 'POST', '/automations', {
      name: 'mine',
      trigger: 'registry.link',
      url: receiver.url,
    });
    expect((await asVic('GET', `/automations/${mine.body.id}`)).status).toBe(404);
    await call('mia', 'DELETE', `/automations/${mine.body.id}`);
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });
});

describe('egress safety', () => {
  let strict: FastifyInstance;
  let strictStore: Store<EmbeddedBackend>;
  let strictKey: string;
  let strictUrl: string;
  let answers: Record<string, string[]>;
  beforeAll(async () => {
    answers = {};
    // A server of its own (a relay delivers every automation of its database), with no allow-list.
    strictStore = await openEmbeddedStore({ dir: join(dir, 'strict'), entity: 'server', actor: 'server' });
    await strictStore.backend.accounts.createUser('mia');
    strictKey = (await strictStore.backend.accounts.createKey('mia', 'tests')).key;
    strict = await buildServer({
      backend: strictStore.backend,
      logger: false,
      webhooks: {
        pollMs: 50,
        retryBaseMs: 100_000,
        // A resolver the test controls: names answer what `answers` says, in turn (DNS rebinding).
        resolve: async (hostname) => {
          const queue = answers[hostname];
          if (!queue || queue.length === 0)
            throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
          const address = queue.length > 1 ? queue.shift()! : queue[0]!;
          return [{ address, family: address.includes(':') ? 6 : 4 }];
        },
      },
    });
    await strict.listen({ port: 0, host: '127.0.0.1' });
    strictUrl = `http://127.0.0.1:${(strict.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await strict.close();
    await strictStore.close();
  });
  const onStrict = async <T>(method: 'GET' | 'POST', path: string): Promise<T> => {
    const response = await fetch(`${strictUrl}${API_PREFIX}${path}`, {
      method,
      headers: { authorization: `Bearer ${strictKey}` },
    });
    return (await response.json()) as T;
  };

  const createOn = (body: Record<string, unknown>) =>
    fetch(`${strictUrl}${API_PREFIX}/automations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${strictKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `n${Math.random().toString(36).slice(2, 8)}`,
        trigger: 'registry.link',
        ...body,
      }),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }));

  it('refuses private, loopback and link-local targets when made, by address or by a name resolving to one', async () => {
    answers['loopback.example'] = ['127.0.0.1'];
    answers['mapped.example'] = ['::ffff:10.0.0.7'];
    for (const target of [
      receiver.url,
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/hook',
      'http://loopback.example/hook',
      'http://mapped.example/hook',
    ]) {
      const made = await createOn({ url: target });
      expect(made.status, target).toBe(400);
      expect(made.body.code, target).toBe('E_TARGET_REFUSED');
    }
    expect(receiver.received).toHaveLength(0);
  });

  it('checks again when it connects: a name that resolved publicly, then to 127.0.0.1, is not reached', async () => {
    const port = new URL(receiver.url).port;
    answers['rebind.example'] = ['93.184.216.34', '127.0.0.1'];
    const made = await createOn({ url: `http://rebind.example:${port}/hook` });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const id = made.body.id as string;
    await onStrict('POST', `/automations/${id}/test`);
    const [failed] = await until('the refused attempt', async () => {
      const log = await onStrict<DeliveryInfo[]>('GET', `/automations/${id}/deliveries`);
      return log[0]?.state === 'failed' ? log : undefined;
    });
    expect(failed!.log[0]!.error).toMatch(/127\.0\.0\.1.*QUIVER_WEBHOOK_ALLOW/);
    expect(receiver.received).toHaveLength(0);
  });

  it('does not follow a redirect', async () => {
    await using target = await startReceiver();
    receiver.answer = (_index, _request, response) => {
      response.writeHead(302, { location: target.url }).end();
      return true;
    };
    const automation = await create({
      name: 'redirected',
      trigger: 'registry.link',
      scope: { entity: 'team' },
    });
    await call('mia', 'POST', `/automations/${automation.id}/test`);
    await receiver.waitFor(1);
    const [delivery] = await until('the failed delivery', async () => {
      const log = await deliveries(automation.id);
      return log[0]?.state === 'failed' ? log : undefined;
    });
    expect(delivery!.log[0]).toMatchObject({ status: 302 });
    expect(delivery!.log[0]!.error).toMatch(/redirect, not followed/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(target.received).toHaveLength(0);
    await call('mia', 'DELETE', `/automations/${automation.id}`);
  });
});
