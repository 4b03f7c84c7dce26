/**
 * The Hub stand-in of `@quiver/transformers/testing`, driven by the real `@huggingface/hub`
 * client: repos, uploads (inline, LFS basic, LFS multipart), listings, downloads, history,
 * branches, access rules, injected faults and tampered storage.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createBranch,
  createRepo,
  deleteFile,
  downloadFile,
  fileDownloadInfo,
  fileExists,
  HubApiError,
  type ListFileEntry,
  listCommits,
  listFiles,
  modelInfo,
  pathsInfo,
  uploadFiles,
  whoAmI,
} from '@huggingface/hub';
import { type HubServer, startHubServer } from '@quiver/transformers/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KiB = 1024;
const MiB = 1024 * KiB;

let hub: HubServer;
/** alice's write token (alice is a member of the `quiver` org). */
let alice: string;
let aliceReadOnly: string;
let bob: string;

beforeAll(async () => {
  hub = await startHubServer({
    lfsThreshold: 64 * KiB,
    multipartThreshold: 1 * MiB,
    multipartChunkSize: 256 * KiB,
  });
  alice = hub.createToken({ user: 'alice', orgs: ['quiver'] });
  aliceReadOnly = hub.createToken({ user: 'alice', role: 'read' });
  bob = hub.createToken({ user: 'bob' });
});
afterAll(() => hub.close());

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** `git hash-object`, computed here independently of the server. */
const gitOid = (bytes: Uint8Array): string =>
  createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
const pointer = (bytes: Uint8Array): Buffer =>
  Buffer.from(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.byteLength}\n`,
  );
const file = (path: string, content: Uint8Array | string): { path: string; content: Blob } => ({
  path,
  content: new Blob([typeof content === 'string' ? Buffer.from(content) : content]),
});
const as = (accessToken: string) => ({ accessToken, hubUrl: hub.url });

async function all<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

/** The bytes of a downloaded file (fails the test when the client found no file). */
async function bytesOf(blob: Blob | null | undefined): Promise<Buffer> {
  expect(blob).toBeInstanceOf(Blob);
  return Buffer.from(await (blob as Blob).arrayBuffer());
}

/** The HubApiError a call rejects with (fails the test if it resolves or throws something else). */
async function hubError(promise: Promise<unknown>): Promise<HubApiError> {
  const error = await promise.then(
    () => new Error('expected the call to fail'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(HubApiError);
  return error as HubApiError;
}

/** A repo of alice's with a fresh name. */
async function freshRepo(name: string, designation = `alice/${name}`): Promise<string> {
  await createRepo({ repo: designation, ...as(alice) });
  return designation;
}

describe('accounts and repos', () => {
  it("whoAmI reports the token's user, orgs and role; an unknown token is a 401", async () => {
    const me = await whoAmI(as(alice));
    expect(me).toMatchObject({ type: 'user', name: 'alice', orgs: [{ name: 'quiver' }] });
    expect(me.auth.accessToken?.role).toBe('write');
    expect((await whoAmI(as(aliceReadOnly))).auth.accessToken?.role).toBe('read');

    const error = await hubError(whoAmI(as('hf_not_a_token_of_this_hub')));
    expect(error.statusCode).toBe(401);
    expect(error.message).toContain('Invalid credentials in Authorization header');
  });

  it('createRepo makes a repo with the initial commit; existing is 409, read-only 403, foreign namespace 403', async () => {
    const created = await createRepo({ repo: 'alice/created', ...as(alice) });
    expect(created.repoUrl).toBe(`${hub.url}/alice/created`);
    expect(hub.commits('alice/created')).toMatchObject([
      { summary: 'initial commit', added: ['.gitattributes'] },
    ]);
    expect(await modelInfo({ name: 'alice/created', ...as(alice) })).toMatchObject({
      name: 'alice/created',
      private: false,
    });

    expect((await hubError(createRepo({ repo: 'alice/created', ...as(alice) }))).statusCode).toBe(409);
    expect((await hubError(createRepo({ repo: 'alice/other', ...as(aliceReadOnly) }))).statusCode).toBe(403);
    expect((await hubError(createRepo({ repo: 'bob/not-yours', ...as(alice) }))).statusCode).toBe(403);
    await createRepo({ repo: 'alice/private-by-client', visibility: 'private', ...as(alice) });
    expect((await hubError(modelInfo({ name: 'alice/private-by-client', hubUrl: hub.url }))).statusCode).toBe(
      401,
    );
    await createRepo({ repo: 'quiver/org-model', ...as(alice) });
    expect(hub.hasRepo('quiver/org-model')).toBe(true);
    expect(hub.hasRepo('alice/other')).toBe(false);
  });
});

describe('uploading with uploadFiles', () => {
  it('commits a small file inline, an LFS file with one PUT and a large one in parts', async () => {
    const repo = await freshRepo('upload');
    const readme = '# A model\n';
    const weights = randomBytes(200 * KiB); // *.bin: LFS, under the multipart threshold
    const big = randomBytes(1.3 * MiB); // over the threshold: ceil(1.3 MiB / 256 KiB) = 6 parts
    hub.clearRequests();

    const result = await uploadFiles({
      repo,
      files: [file('README.md', readme), file('weights.bin', weights), file('big.safetensors', big)],
      commitTitle: 'Add model',
      ...as(alice),
    });

    const count = (endpoint: Parameters<HubServer['requests']>[0]) => hub.requests(endpoint).length;
    expect(count({ endpoint: 'preupload' })).toBe(1);
    expect(count({ endpoint: 'lfs-batch' })).toBe(1);
    expect(count({ endpoint: 'lfs-upload' })).toBe(1);
    expect(count({ endpoint: 'lfs-part' })).toBe(6);
    expect(count({ endpoint: 'lfs-complete' })).toBe(1);
    expect(count({ endpoint: 'commit' })).toBe(1);

    const [initial, pushed] = hub.commits(repo);
    expect(result?.commit.oid).toBe(pushed?.oid);
    expect(result?.commit.url).toBe(`${hub.url}/${repo}/commit/${pushed?.oid}`);
    expect(pushed).toMatchObject({
      summary: 'Add model',
      author: 'alice',
      parents: [initial?.oid],
      refs: ['main'],
    });
    expect(pushed?.added.sort()).toEqual(['README.md', 'big.safetensors', 'weights.bin']);

    const tree = Object.fromEntries(hub.tree(repo).map((entry) => [entry.path, entry]));
    expect(tree['README.md']).toEqual({
      path: 'README.md',
      size: readme.length,
      oid: gitOid(Buffer.from(readme)),
      sha256: sha256(Buffer.from(readme)),
    });
    expect(tree['weights.bin']?.lfs).toEqual({
      oid: sha256(weights),
      size: weights.byteLength,
      pointerSize: pointer(weights).byteLength,
    });
    expect(tree['big.safetensors']?.lfs?.oid).toBe(sha256(big));
    expect(hub.readFile(repo, 'big.safetensors')?.equals(big)).toBe(true);
  });

  it('routes files to LFS by .gitattributes pattern, binary sample and size, and tracks new LFS paths', async () => {
    const repo = await freshRepo('preupload-rule');
    const binary = Buffer.from([1, 2, 0, 3]);
    await uploadFiles({
      repo,
      files: [
        file('notes.txt', 'plain text'),
        file('onnx/model.onnx', 'small, but *.onnx is an LFS pattern'),
        file('sample.dat', binary),
        file('large.txt', 'x'.repeat(64 * KiB)),
      ],
      useXet: false,
      ...as(alice),
    });
    const lfsPaths = hub
      .tree(repo)
      .filter((entry) => entry.lfs)
      .map((entry) => entry.path);
    expect(lfsPaths.sort()).toEqual(['large.txt', 'onnx/model.onnx', 'sample.dat']);
    // Like the Hub's commit endpoint: LFS paths no pattern covers are added to .gitattributes.
    const gitattributes = hub.readFile(repo, '.gitattributes')?.toString('utf8') ?? '';
    expect(gitattributes).toContain('\nsample.dat filter=lfs diff=lfs merge=lfs -text\n');
    expect(gitattributes).toContain('\nlarge.txt filter=lfs diff=lfs merge=lfs -text\n');
    expect(gitattributes).not.toContain('model.onnx filter');
    expect(hub.commits(repo).at(-1)?.added).toContain('.gitattributes');
  });

  it('a custom uploadMode rule decides first', async () => {
    const custom = await startHubServer({
      uploadMode: ({ path }) => (path.endsWith('.json') ? 'lfs' : undefined),
    });
    try {
      const token = custom.createToken({ user: 'carol' });
      await createRepo({ repo: 'carol/custom', accessToken: token, hubUrl: custom.url });
      await uploadFiles({
        repo: 'carol/custom',
        files: [file('config.json', '{}'), file('README.md', 'hi')],
        accessToken: token,
        hubUrl: custom.url,
      });
      const tree = custom.tree('carol/custom');
      expect(tree.find((entry) => entry.path === 'config.json')?.lfs).toBeDefined();
      expect(tree.find((entry) => entry.path === 'README.md')?.lfs).toBeUndefined();
    } finally {
      await custom.close();
    }
  });

  it('skips objects the repo already stores: a second push of the same content uploads nothing', async () => {
    const repo = await freshRepo('dedup');
    const weights = randomBytes(100 * KiB);
    await uploadFiles({ repo, files: [file('a.bin', weights)], ...as(alice) });
    hub.clearRequests();
    await uploadFiles({ repo, files: [file('b.bin', weights)], ...as(alice) });
    expect(hub.requests({ endpoint: 'lfs-batch' })).toHaveLength(1);
    expect(hub.requests({ endpoint: ['lfs-upload', 'lfs-part'] })).toHaveLength(0);
    expect(hub.tree(repo).find((entry) => entry.path === 'b.bin')?.lfs?.oid).toBe(sha256(weights));
  });

  it('uploads to datasets through their URL prefix', async () => {
    const repo = await freshRepo('ds', 'datasets/alice/ds');
    const table = randomBytes(80 * KiB);
    hub.clearRequests();
    await uploadFiles({ repo, files: [file('data/train.parquet', table)], ...as(alice) });
    const paths = hub.requests({ repo }).map((entry) => `${entry.method} ${entry.path}`);
    expect(paths).toContain('POST /api/datasets/alice/ds/preupload/main');
    expect(paths).toContain('POST /datasets/alice/ds.git/info/lfs/objects/batch');
    expect(paths).toContain('POST /api/datasets/alice/ds/commit/main');
    const blob = await downloadFile({ repo, path: 'data/train.parquet', ...as(alice) });
    expect((await bytesOf(blob)).equals(table)).toBe(true);
  });
});

describe('reading a pushed repo', () => {
  const repo = 'alice/read';
  const config = Buffer.from('{"model_type":"bert"}');
  const model = randomBytes(300 * KiB);
  const weights = randomBytes(1.1 * MiB);
  let head: string;

  beforeAll(async () => {
    await freshRepo('read');
    const result = await uploadFiles({
      repo,
      files: [
        file('config.json', config),
        file('onnx/model.onnx', model),
        file('onnx/extra/weights.bin', weights),
      ],
      ...as(alice),
    });
    head = result?.commit.oid ?? '';
  });

  it('listFiles (recursive) reports every file with its git oid, and LFS files with lfs info', async () => {
    const entries = await all(listFiles({ repo, recursive: true, ...as(alice) }));
    expect(entries.map((entry) => `${entry.type} ${entry.path}`)).toEqual([
      'file .gitattributes',
      'file config.json',
      'directory onnx',
      'directory onnx/extra',
      'file onnx/extra/weights.bin',
      'file onnx/model.onnx',
    ]);
    const byPath = Object.fromEntries(entries.map((entry) => [entry.path, entry])) as Record<
      string,
      ListFileEntry
    >;
    expect(byPath['config.json']).toMatchObject({ oid: gitOid(config), size: config.byteLength });
    expect(byPath['config.json']?.lfs).toBeUndefined();
    for (const [path, content] of [
      ['onnx/model.onnx', model],
      ['onnx/extra/weights.bin', weights],
    ] as const) {
      expect(byPath[path]).toMatchObject({
        oid: gitOid(pointer(content)),
        size: content.byteLength,
        lfs: { oid: sha256(content), size: content.byteLength, pointerSize: pointer(content).byteLength },
      });
    }
    expect(byPath.onnx?.oid).toMatch(/^[0-9a-f]{40}$/);
  });

  it('lists one folder, flat or expanded with the last commit; pathsInfo answers per path', async () => {
    const top = await all(listFiles({ repo, ...as(alice) }));
    expect(top.map((entry) => entry.path)).toEqual(['.gitattributes', 'config.json', 'onnx']);
    const onnx = await all(listFiles({ repo, path: 'onnx', expand: true, ...as(alice) }));
    expect(onnx.map((entry) => entry.path)).toEqual(['onnx/extra', 'onnx/model.onnx']);
    expect(onnx[1]?.lastCommit?.id).toBe(head);
    const infos = await pathsInfo({ repo, paths: ['config.json', 'onnx', 'missing.txt'], ...as(alice) });
    expect(infos.map((info) => [info.path, info.type])).toEqual([
      ['config.json', 'file'],
      ['onnx', 'directory'],
    ]);
  });

  it('downloadFile and fileDownloadInfo read regular and LFS files', async () => {
    const configInfo = await fileDownloadInfo({ repo, path: 'config.json', ...as(alice) });
    expect(configInfo).toMatchObject({ size: config.byteLength, etag: `"${gitOid(config)}"` });
    const modelInfo_ = await fileDownloadInfo({ repo, path: 'onnx/model.onnx', ...as(alice) });
    expect(modelInfo_).toMatchObject({ size: model.byteLength, etag: `"${sha256(model)}"` });

    for (const [path, content] of [
      ['config.json', config],
      ['onnx/model.onnx', model],
      ['onnx/extra/weights.bin', weights], // over 1 MB: the client streams it with Range requests
    ] as const) {
      const blob = await downloadFile({ repo, path, ...as(alice) });
      expect(blob?.size).toBe(content.byteLength);
      expect((await bytesOf(blob)).equals(content)).toBe(true);
    }
    expect(await fileExists({ repo, path: 'onnx/model.onnx', ...as(alice) })).toBe(true);
  });

  it('answers the Range probe with 206 and the headers file-download-info reads; HEAD with the same headers', async () => {
    const url = `${hub.url}/${repo}/resolve/main/onnx/model.onnx`;
    const probe = await fetch(url, { headers: { Range: 'bytes=0-0', Authorization: `Bearer ${alice}` } });
    expect(probe.status).toBe(206);
    expect(Buffer.from(await probe.arrayBuffer())).toEqual(model.subarray(0, 1));
    expect(probe.headers.get('Content-Range')).toBe(`bytes 0-0/${model.byteLength}`);
    expect(probe.headers.get('X-Linked-Etag')).toBe(`"${sha256(model)}"`);
    expect(probe.headers.get('X-Linked-Size')).toBe(String(model.byteLength));
    expect(probe.headers.get('X-Repo-Commit')).toBe(head);
    expect(probe.headers.get('X-Request-Id')).toBeTruthy();

    const head_ = await fetch(url, { method: 'HEAD' });
    expect(head_.status).toBe(200);
    expect(head_.headers.get('Content-Length')).toBe(String(model.byteLength));
    expect(head_.headers.get('ETag')).toBe(`"${sha256(model)}"`);

    const raw = await fetch(`${hub.url}/${repo}/raw/main/onnx/model.onnx`);
    expect(Buffer.from(await raw.arrayBuffer())).toEqual(pointer(model));
  });

  it('answers missing entries, revisions and repos as the Hub does', async () => {
    expect(await fileDownloadInfo({ repo, path: 'nope.json', ...as(alice) })).toBeNull();
    expect(await downloadFile({ repo, path: 'nope.json', ...as(alice) })).toBeNull();
    expect(await fileExists({ repo, path: 'nope.json', ...as(alice) })).toBe(false);
    const missing = await fetch(`${hub.url}/${repo}/resolve/main/nope.json`);
    expect([missing.status, missing.headers.get('X-Error-Code')]).toEqual([404, 'EntryNotFound']);

    const badRevision = await hubError(
      fileDownloadInfo({ repo, path: 'config.json', revision: 'nope', ...as(alice) }),
    );
    expect(badRevision.statusCode).toBe(404);
    const revision = await fetch(`${hub.url}/${repo}/resolve/nope/config.json`);
    expect(revision.headers.get('X-Error-Code')).toBe('RevisionNotFound');

    const anonymous = await fetch(`${hub.url}/alice/no-such-repo/resolve/main/config.json`);
    expect([anonymous.status, anonymous.headers.get('X-Error-Code')]).toEqual([401, 'RepoNotFound']);
    const signedIn = await hubError(
      fileDownloadInfo({ repo: 'alice/no-such-repo', path: 'config.json', ...as(alice) }),
    );
    expect(signedIn.statusCode).toBe(404);
  });

  it('with redirectLfs, resolve answers LFS files with a 302 to signed storage, as the Hub does with its CDN', async () => {
    const content = randomBytes(50 * KiB);
    const cdn = await startHubServer({
      redirectLfs: true,
      repos: [{ repo: 'erin/cdn', files: { 'model.onnx': content } }],
    });
    try {
      const redirect = await fetch(`${cdn.url}/erin/cdn/resolve/main/model.onnx`, { redirect: 'manual' });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('X-Linked-Etag')).toBe(`"${sha256(content)}"`);
      expect(redirect.headers.get('X-Linked-Size')).toBe(String(content.byteLength));
      expect(redirect.headers.get('Location')?.startsWith(`${cdn.url}/lfs-cdn/`)).toBe(true);
      const blob = await downloadFile({ repo: 'erin/cdn', path: 'model.onnx', hubUrl: cdn.url });
      expect((await bytesOf(blob)).equals(content)).toBe(true);
      expect(cdn.requests({ endpoint: 'lfs-cdn' }).length).toBeGreaterThan(0);
    } finally {
      await cdn.close();
    }
  });

  it('pages the tree through the Link header', async () => {
    const paged = await startHubServer({
      treePageSize: 2,
      repos: [
        {
          repo: 'dora/many',
          files: Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((name) => [`${name}.txt`, name])),
        },
      ],
    });
    try {
      const entries = await all(listFiles({ repo: 'dora/many', hubUrl: paged.url }));
      expect(entries.map((entry) => entry.path)).toEqual([
        '.gitattributes',
        'a.txt',
        'b.txt',
        'c.txt',
        'd.txt',
        'e.txt',
      ]);
      const pages = paged.requests({ endpoint: 'tree' });
      expect(pages).toHaveLength(3);
      expect(pages[1]?.query).toContain('cursor=');
    } finally {
      await paged.close();
    }
  });
});

describe('history and branches', () => {
  it('keeps every commit: a file resolves at an older commit oid after it is overwritten or deleted', async () => {
    const repo = await freshRepo('history');
    const v1 = randomBytes(70 * KiB);
    const v2 = randomBytes(70 * KiB);
    const first = await uploadFiles({
      repo,
      files: [file('model.bin', v1)],
      commitTitle: 'v1',
      ...as(alice),
    });
    const second = await uploadFiles({
      repo,
      files: [file('model.bin', v2)],
      commitTitle: 'v2',
      ...as(alice),
    });
    const removed = await deleteFile({ repo, path: 'model.bin', ...as(alice) });

    expect(await fileExists({ repo, path: 'model.bin', ...as(alice) })).toBe(false);
    const read = async (revision: string) =>
      bytesOf(await downloadFile({ repo, path: 'model.bin', revision, ...as(alice) }));
    expect((await read(first?.commit.oid ?? '')).equals(v1)).toBe(true);
    expect((await read(second?.commit.oid ?? '')).equals(v2)).toBe(true);
    expect((await read((first?.commit.oid ?? '').slice(0, 7))).equals(v1)).toBe(true);

    const commits = hub.commits(repo);
    expect(commits.map((commit) => commit.summary)).toEqual([
      'initial commit',
      'v1',
      'v2',
      'Delete model.bin',
    ]);
    expect(commits.at(-1)).toMatchObject({
      oid: removed?.commit.oid,
      parents: [second?.commit.oid],
      deleted: ['model.bin'],
    });
    expect(hub.tree(repo, first?.commit.oid).map((entry) => entry.path)).toEqual([
      '.gitattributes',
      'model.bin',
    ]);
    const titles = (await all(listCommits({ repo, ...as(alice) }))).map((commit) => commit.title);
    expect(titles).toEqual(['Delete model.bin', 'v2', 'v1', 'initial commit']);

    expect((await hubError(deleteFile({ repo, path: 'model.bin', ...as(alice) }))).statusCode).toBe(404);
  });

  it('createBranch, then a push to the branch leaves main alone; an existing branch is a 409', async () => {
    const repo = await freshRepo('branches');
    await createBranch({ repo, branch: 'dev', ...as(alice) });
    const pushed = await uploadFiles({ repo, branch: 'dev', files: [file('dev.txt', 'dev')], ...as(alice) });
    expect(hub.refs(repo).dev).toBe(pushed?.commit.oid);
    const onDev = await all(listFiles({ repo, revision: 'dev', ...as(alice) }));
    const onMain = await all(listFiles({ repo, ...as(alice) }));
    expect(onDev.map((entry) => entry.path)).toEqual(['.gitattributes', 'dev.txt']);
    expect(onMain.map((entry) => entry.path)).toEqual(['.gitattributes']);

    expect((await hubError(createBranch({ repo, branch: 'dev', ...as(alice) }))).statusCode).toBe(409);
    await createBranch({ repo, branch: 'dev', overwrite: true, ...as(alice) });
    expect(hub.refs(repo).dev).toBe(pushed?.commit.oid);
    const noBranch = await hubError(
      uploadFiles({ repo, branch: 'nope', files: [file('x.txt', 'x')], ...as(alice) }),
    );
    expect(noBranch.statusCode).toBe(404);
  });

  it('refuses a commit whose parentCommit is no longer the head with a 412', async () => {
    const repo = await freshRepo('parent');
    const [initial] = hub.commits(repo);
    const ahead = await uploadFiles({ repo, files: [file('a.txt', 'a')], ...as(alice) });
    const stale = await hubError(
      uploadFiles({ repo, files: [file('b.txt', 'b')], parentCommit: initial?.oid ?? '', ...as(alice) }),
    );
    expect(stale.statusCode).toBe(412);
    expect(stale.message).toContain('A commit has happened since');
    const next = await uploadFiles({
      repo,
      files: [file('b.txt', 'b')],
      parentCommit: ahead?.commit.oid ?? '',
      ...as(alice),
    });
    expect(hub.tree(repo).map((entry) => entry.path)).toEqual(['.gitattributes', 'a.txt', 'b.txt']);
    // Expanded listings name the last commit that changed each file.
    const expanded = await all(listFiles({ repo, expand: true, ...as(alice) }));
    expect(expanded.map((entry) => [entry.path, entry.lastCommit?.id])).toEqual([
      ['.gitattributes', initial?.oid],
      ['a.txt', ahead?.commit.oid],
      ['b.txt', next?.commit.oid],
    ]);
  });

  it('isPullRequest commits to refs/pr/N and leaves main alone', async () => {
    const repo = await freshRepo('pr');
    const result = await uploadFiles({
      repo,
      isPullRequest: true,
      files: [file('pr.txt', 'proposed')],
      ...as(alice),
    });
    expect(result?.pullRequestUrl).toBe(`${hub.url}/${repo}/discussions/1`);
    expect(hub.refs(repo)['refs/pr/1']).toBe(result?.commit.oid);
    expect(await fileExists({ repo, path: 'pr.txt', ...as(alice) })).toBe(false);
    const blob = await downloadFile({ repo, path: 'pr.txt', revision: 'refs/pr/1', ...as(alice) });
    expect(await blob?.text()).toBe('proposed');
  });
});

describe('access', () => {
  it('hides private repos (401 anonymous, 404 to others), refuses read-only and foreign writes', async () => {
    hub.createRepo({ repo: 'alice/secret', private: true, files: { 'a.txt': 'secret' } });
    const anonymous = await hubError(all(listFiles({ repo: 'alice/secret', hubUrl: hub.url })));
    expect(anonymous.statusCode).toBe(401);
    expect((await hubError(all(listFiles({ repo: 'alice/secret', ...as(bob) })))).statusCode).toBe(404);
    expect(await all(listFiles({ repo: 'alice/secret', ...as(aliceReadOnly) }))).toHaveLength(2);
    expect((await modelInfo({ name: 'alice/secret', ...as(alice) })).private).toBe(true);

    const upload = (options: { accessToken?: string }) =>
      uploadFiles({ repo: 'alice/secret', files: [file('b.txt', 'b')], hubUrl: hub.url, ...options });
    expect((await hubError(upload({}))).statusCode).toBe(401);
    expect((await hubError(upload({ accessToken: aliceReadOnly }))).statusCode).toBe(403);
    expect((await hubError(upload({ accessToken: bob }))).statusCode).toBe(404);
    const created = await freshRepo('public');
    const foreign = await hubError(uploadFiles({ repo: created, files: [file('b.txt', 'b')], ...as(bob) }));
    expect(foreign.statusCode).toBe(403);
    expect(hub.commits('alice/secret')).toHaveLength(1);

    const log = JSON.stringify(hub.requests());
    for (const token of [alice, aliceReadOnly, bob]) expect(log).not.toContain(token);
    expect(hub.requests({ endpoint: 'preupload', repo: 'alice/secret' }).map((entry) => entry.user)).toEqual([
      undefined,
      'alice',
      'bob',
    ]);
  });
});

describe('faults', () => {
  it('a 5xx reaches the caller as HubApiError: the client does not retry a commit', async () => {
    const repo = await freshRepo('flaky');
    hub.clearRequests();
    hub.failNext({ status: 503, match: { endpoint: 'commit' } });
    const error = await hubError(uploadFiles({ repo, files: [file('a.txt', 'a')], ...as(alice) }));
    expect(error.statusCode).toBe(503);
    const attempts = hub.requests({ endpoint: 'commit' });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status: 503, fault: 'fail' });
    expect(error.requestId).toBe(attempts[0]?.id);
    expect(hub.commits(repo)).toHaveLength(1);

    await uploadFiles({ repo, files: [file('a.txt', 'a')], ...as(alice) });
    expect(hub.commits(repo)).toHaveLength(2);
  });

  it('answers 401 / 403 / 404 / 409 / 500 to matching requests, and a failed part stops the push', async () => {
    const repo = await freshRepo('injected');
    hub.failNext({ status: 401, match: { endpoint: 'whoami' } });
    expect((await hubError(whoAmI(as(alice)))).statusCode).toBe(401);
    hub.failNext({ status: 403, match: { endpoint: 'preupload' } });
    expect(
      (await hubError(uploadFiles({ repo, files: [file('a.txt', 'a')], ...as(alice) }))).statusCode,
    ).toBe(403);
    hub.failNext({ status: 409, match: { endpoint: 'create-repo' } });
    expect((await hubError(createRepo({ repo: 'alice/never-created', ...as(alice) }))).statusCode).toBe(409);
    hub.failNext({
      status: 404,
      errorCode: 'EntryNotFound',
      match: { endpoint: 'resolve', path: '.gitattributes' },
    });
    expect(await fileDownloadInfo({ repo, path: '.gitattributes', ...as(alice) })).toBeNull();
    expect(await fileDownloadInfo({ repo, path: '.gitattributes', ...as(alice) })).not.toBeNull();

    hub.failNext({ status: 500, match: { endpoint: 'lfs-part' } });
    const part = await hubError(
      uploadFiles({ repo, files: [file('big.bin', randomBytes(1.2 * MiB))], ...as(alice) }),
    );
    expect(part.statusCode).toBe(500);
    expect(part.url).toContain('/lfs-storage/');
    expect(hub.commits(repo)).toHaveLength(1);
  });

  it('a connection dropped mid-upload fails the push; dropped after a commit, the commit stands', async () => {
    const repo = await freshRepo('dropped');
    hub.clearRequests();
    hub.dropNext({ match: { endpoint: 'lfs-upload' } });
    const upload = uploadFiles({ repo, files: [file('model.bin', randomBytes(100 * KiB))], ...as(alice) });
    await expect(upload).rejects.toThrow(/fetch failed/);
    expect(hub.requests({ endpoint: 'lfs-upload' })).toMatchObject([
      { state: 'dropped', fault: 'drop', status: 0 },
    ]);
    expect(hub.requests({ endpoint: 'commit' })).toHaveLength(0);
    expect(hub.commits(repo)).toHaveLength(1);

    hub.dropNext({ when: 'response', match: { endpoint: 'commit' } });
    await expect(uploadFiles({ repo, files: [file('a.txt', 'a')], ...as(alice) })).rejects.toThrow(
      /fetch failed/,
    );
    expect(hub.commits(repo)).toHaveLength(2);
  });

  it('a download cut mid-body fails when the client reads it', async () => {
    const repo = await freshRepo('cut');
    const content = randomBytes(2 * MiB);
    await uploadFiles({ repo, files: [file('model.bin', content)], ...as(alice) });
    const downloadInfo = await fileDownloadInfo({ repo, path: 'model.bin', ...as(alice) });
    hub.dropNext({ when: 'mid-response', match: { endpoint: 'resolve' } });
    const blob = await downloadFile({
      repo,
      path: 'model.bin',
      downloadInfo: downloadInfo ?? undefined,
      ...as(alice),
    });
    const outcome = await blob?.arrayBuffer().then(
      () => 'read',
      (error: Error) => `failed: ${error.message}`,
    );
    expect(outcome).toMatch(/^failed/);
    expect(hub.requests({ endpoint: 'resolve' }).at(-1)).toMatchObject({ state: 'dropped', fault: 'drop' });
    const again = await downloadFile({
      repo,
      path: 'model.bin',
      downloadInfo: downloadInfo ?? undefined,
      ...as(alice),
    });
    expect((await bytesOf(again)).equals(content)).toBe(true);
  });

  it('delay holds a push in flight until released', async () => {
    const repo = await freshRepo('slow');
    const held = hub.delay({ ms: 60_000, match: { endpoint: 'commit', repo } });
    const push = uploadFiles({ repo, files: [file('a.txt', 'a')], ...as(alice) });
    expect(await held.reached).toMatchObject({ endpoint: 'commit', repo });
    expect(hub.requests({ endpoint: 'commit', repo })).toMatchObject([
      { state: 'in-flight', fault: 'delay' },
    ]);
    expect(hub.commits(repo)).toHaveLength(1);
    held.release();
    await push;
    expect(hub.commits(repo)).toHaveLength(2);

    hub.delay({ ms: 300, count: 1, match: { endpoint: 'whoami' } });
    const started = Date.now();
    await whoAmI(as(alice));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('integrity', () => {
  it('tamper changes the served bytes but not the recorded oid, so clients can detect it', async () => {
    const repo = await freshRepo('tampered');
    const content = randomBytes(120 * KiB);
    await uploadFiles({
      repo,
      files: [file('model.bin', content), file('config.json', '{"a":1}')],
      ...as(alice),
    });
    hub.tamper(repo, 'model.bin');
    hub.tamper(repo, 'config.json', { bytes: Buffer.from('{"a":2}') });

    const listed = Object.fromEntries(
      (await all(listFiles({ repo, ...as(alice) }))).map((entry) => [entry.path, entry]),
    );
    expect(listed['model.bin']?.lfs?.oid).toBe(sha256(content));
    expect(listed['config.json']?.oid).toBe(gitOid(Buffer.from('{"a":1}')));
    const downloaded = await bytesOf(await downloadFile({ repo, path: 'model.bin', ...as(alice) }));
    expect(downloaded.byteLength).toBe(content.byteLength);
    expect(sha256(downloaded)).not.toBe(listed['model.bin']?.lfs?.oid);
    expect((await fileDownloadInfo({ repo, path: 'model.bin', ...as(alice) }))?.etag).toBe(
      `"${sha256(content)}"`,
    );
    const config = await downloadFile({ repo, path: 'config.json', ...as(alice) });
    expect(await config?.text()).toBe('{"a":2}');
  });

  it('refuses LFS content whose sha256 differs from the oid (basic and multipart), and commits pointing at it', async () => {
    const repo = await freshRepo('corrupt');
    /** The real client, with a network that flips the first byte of every storage PUT. */
    const corrupting: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && String(input).includes('/lfs-storage/')) {
        const body = new Uint8Array(await new Response(init.body).arrayBuffer());
        body[0] = (body[0] ?? 0) ^ 0xff;
        return fetch(input, { ...init, body });
      }
      return fetch(input, init);
    };
    for (const size of [100 * KiB, 1.5 * MiB]) {
      const error = await hubError(
        uploadFiles({ repo, files: [file('model.bin', randomBytes(size))], fetch: corrupting, ...as(alice) }),
      );
      expect(error.statusCode).toBe(400);
      expect(error.message).toContain('BadDigest');
    }
    /** The real client, with a network that garbles the ETag of every uploaded part. */
    const wrongEtags: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method !== 'PUT' || !/\/lfs-storage\/\w+\/\d+$/.test(String(input))) return response;
      const headers = new Headers(response.headers);
      headers.set('ETag', '"garbled"');
      return new Response(response.body, { status: response.status, headers });
    };
    const completion = await hubError(
      uploadFiles({
        repo,
        files: [file('model.bin', randomBytes(1.5 * MiB))],
        fetch: wrongEtags,
        ...as(alice),
      }),
    );
    expect([completion.statusCode, completion.message]).toEqual([
      400,
      expect.stringContaining('InvalidPart'),
    ]);
    expect(hub.commits(repo)).toHaveLength(1);

    const oid = sha256(Buffer.from('never uploaded'));
    const commit = await fetch(`${hub.url}/api/models/${repo}/commit/main`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'application/x-ndjson' },
      body: [
        { key: 'header', value: { summary: 'dangling' } },
        { key: 'lfsFile', value: { path: 'ghost.bin', algo: 'sha256', oid, size: 14 } },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    });
    expect(commit.status).toBe(400);
    expect(((await commit.json()) as { error: string }).error).toContain(
      'LFS pointer pointed to a file that does not exist',
    );
  });
});
