import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStore, sdkBackends } from './support/backends.js';
import { runCli } from './support/processes.js';

describe.each(sdkBackends())('quiver CLI on %s', (backend) => {
  it('puts, lists, shows, aliases, tags, gets, removes and collects, with --json and exit codes', {
    timeout: 120_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const env = testStore.env;
    const source = mkdtempSync(join(tmpdir(), 'quiver-cli-'));
    mkdirSync(join(source, 'export'));
    writeFileSync(join(source, 'export', 'model.onnx'), 'onnx-bytes');
    writeFileSync(join(source, 'export', 'labels.txt'), 'cat\ndog\n');
    writeFileSync(join(source, 'card.md'), '# card');
    const json = async (args: string[]) => {
      const result = await runCli([...args, '--json'], env);
      expect(result.stderr, `${args.join(' ')}: ${result.stderr}`).toBe('');
      return { code: result.code, value: JSON.parse(result.stdout) };
    };

    const put = await json([
      'artifact',
      'put',
      'zoo/classifier',
      join(source, 'export'),
      join(source, 'card.md'),
      '--alias',
      'candidate',
      '--metadata',
      '{"acc":0.91}',
      '--description',
      'exported elsewhere',
    ]);
    expect(put.code).toBe(0);
    expect(put.value).toMatchObject({
      ref: 'tester/zoo/classifier:v0',
      aliases: ['candidate', 'latest'],
      fileCount: 3,
      metadata: { acc: 0.91 },
      deduplicated: false,
    });
    const again = await json([
      'artifact',
      'put',
      'zoo/classifier',
      join(source, 'export'),
      join(source, 'card.md'),
    ]);
    expect(again.value).toMatchObject({ ref: 'tester/zoo/classifier:v0', deduplicated: true });
    writeFileSync(join(source, 'card.md'), '# card v2');
    expect(
      (await json(['artifact', 'put', 'zoo/classifier', join(source, 'export'), join(source, 'card.md')]))
        .value.version,
    ).toBe(1);

    expect((await json(['artifact', 'ls'])).value).toEqual([
      expect.objectContaining({ project: 'zoo', name: 'classifier', versions: 2, latest: 1 }),
    ]);
    expect(
      (await json(['artifact', 'ls', 'zoo/classifier'])).value.map((row: { version: number }) => row.version),
    ).toEqual([1, 0]);
    const show = await json(['artifact', 'show', 'zoo/classifier:candidate']);
    expect(show.value.entries.map((entry: { path: string }) => entry.path)).toEqual([
      'card.md',
      'labels.txt',
      'model.onnx',
    ]);

    expect((await json(['artifact', 'alias', 'zoo/classifier:v1', 'candidate'])).value.aliases).toEqual([
      'candidate',
      'latest',
    ]);
    expect((await json(['artifact', 'show', 'zoo/classifier:v0'])).value.aliases).toEqual([]);
    expect((await json(['artifact', 'tag', 'zoo/classifier:v0', 'legacy'])).value.tags).toEqual(['legacy']);

    const out = join(source, 'downloaded');
    expect((await json(['get', 'zoo/classifier:candidate', out])).code).toBe(0);
    expect(readFileSync(join(out, 'card.md'), 'utf8')).toBe('# card v2');

    const refused = await runCli(['artifact', 'rm', 'zoo/classifier:v1'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('E_ALIAS_HELD');
    expect((await json(['artifact', 'rm', 'zoo/classifier:v1', '--force'])).value).toEqual({
      deleted: 'tester/zoo/classifier:v1',
    });
    expect((await json(['gc', '--grace', '0'])).value).toMatchObject({ blobs: 1 });
    expect((await json(['verify'])).value).toMatchObject({ ok: true });

    const lineage = await json(['lineage', 'zoo/classifier:v0']);
    expect(lineage.value.edges).toEqual([]);
    expect((await json(['run', 'ls'])).value).toEqual([]);

    const bad = await runCli(['artifact', 'show', 'zoo/classifier:v01'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('E_INVALID_REF');
    const usage = await runCli(['artifact', 'nonsense'], env);
    expect(usage.code).toBe(2);
  });
});
