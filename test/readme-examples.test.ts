import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore, QuiverClient } from '@quiver/core';
import { type HubServer, startHubServer } from '@quiver/transformers/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/processes.js';

// Done-when 4 of issue 10: the README examples run as written. Every ```ts block of README.md and
// packages/*/README.md is extracted and executed, verbatim, as a TypeScript program (tsx, against
// the workspace sources) in a fresh folder with a fresh store. A block that is a fragment — it uses
// a `model`, `xs`, `run` or a file it does not create — gets a small preamble, written out below
// with the block it belongs to, that declares exactly those; a fragment that builds a callback
// without training with it gets a postamble that trains with it, so that what its comments claim
// can be checked. After each run the output and the store are checked against those claims.
//
// A block whose README is wrong as written is listed in `defect` with the error it fails with:
// the test asserts that failure, and fails (asking to remove the entry) once the README is fixed.
//
// Blocks that cannot run here: none. The Hub blocks push to the Hub stand-in of
// @quiver/transformers/testing (HF_ENDPOINT, HF_TOKEN) instead of huggingface.co, which CI cannot
// reach; everything else runs on a fresh embedded store (QUIVER_DIR, QUIVER_ENTITY=me).

interface Block {
  readme: string;
  index: number;
  code: string;
}

/** The ```ts blocks of a README, in order. */
function tsBlocks(readme: string): Block[] {
  const text = readFileSync(join(ROOT, readme), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match, index) => ({
    readme,
    index,
    code: match[1]!,
  }));
}

const READMES = [
  'README.md',
  'packages/core/README.md',
  'packages/cli/README.md',
  'packages/server/README.md',
  'packages/tfjs/README.md',
  'packages/onnx/README.md',
  'packages/transformers/README.md',
];

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The working folder the block ran in (its relative paths resolve here). */
  cwd: string;
  /** A client on the store the block wrote to. */
  client: QuiverClient;
}

interface Example {
  /** What this block shows, as the README says it. */
  title: string;
  /** The block's first line: a README edit that moves blocks fails here instead of running the wrong spec. */
  firstLine: string;
  /** Files created in the working folder before the block runs. */
  files?: Record<string, string | Uint8Array>;
  /** TypeScript run before the block: declares what the fragment uses and does not define. */
  preamble?: string;
  /** TypeScript run after the block: uses what the fragment built and left unused. */
  postamble?: string;
  /** Needs the Hub stand-in (HF_ENDPOINT, and HF_TOKEN for the user `me`). */
  hub?: boolean;
  /** The README is wrong here: the block fails as written, with this in its stderr. */
  defect?: { reason: string; stderr: RegExp };
  /** What the block's comments claim, checked on its output and its store. */
  check(result: RunResult, hub: HubServer | undefined): Promise<void> | void;
}

// ---------------------------------------------------------------------------------------------
// Preambles shared by the TF.js fragments. Namespace imports only, so that they never clash with
// a name the block imports itself.

/** The run the TF.js fragments call `run`. */
const TFJS_RUN = `import * as quiver from '@quiver/core';

const run = await quiver.init({ project: 'digits', jobType: 'train' });
`;

/** A small compiled classifier and its data: what the TF.js fragments call model, xs, ys, xVal. */
const TFJS_MODEL = `import * as tf from '@tensorflow/tfjs';

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const xs = tf.randomNormal([60, 4], 0, 1, 'float32', 7);
const ys = tf.oneHot(tf.argMax(xs.slice([0, 0], [60, 3]), 1).cast('int32'), 3);
const xVal = xs.slice([0, 0], [12, 4]);
`;

/**
 * The fragment calls checkpointCallback(...) without importing it and without training with what
 * it returns: this is the real one, keeping each callback so that the postamble trains with it.
 */
const KEEP_CALLBACKS = `import * as quiverTfjs from '@quiver/tfjs';

const callbacks: quiverTfjs.QuiverCheckpointCallback[] = [];
const checkpointCallback = (...args: Parameters<typeof quiverTfjs.checkpointCallback>) => {
  const callback = quiverTfjs.checkpointCallback(...args);
  callbacks.push(callback);
  return callback;
};
`;

/** Registered model `digits` with `production` on a version holding an ONNX model (the fragment loads it). */
const DIGITS_PRODUCTION_ONNX = `import * as quiverOnnx from '@quiver/onnx';

const client = await quiver.openClient();
const served = await quiverOnnx.logOnnx(run, quiverOnnx.toOnnx(model).bytes, { name: 'digits-onnx' });
await client.registry.link(served.ref, { model: 'digits' }, { create: true });
await client.registry.setAlias('registry/digits:v0', 'production', { force: true });
`;

/** Trains with the callbacks the fragment built (it never calls fit), then finishes the run. */
const FIT_WITH_CALLBACKS = `
await model.fit(xs, ys, { epochs: 3, validationSplit: 0.2, callbacks });
await run.finish();
`;

/**
 * A text classifier (Embedding → mean → logits) trained by an earlier run with the tokenizer files
 * in each checkpoint, its best linked as registered model `topics` and promoted to `production`:
 * what the root README's Hub fragment loads as a pipeline. Then `model`, `xs`, `ys` and a new `run`
 * for that fragment.
 */
const TOPICS_PRODUCTION = `import * as tf from '@tensorflow/tfjs';
import * as quiver from '@quiver/core';
import * as quiverTransformers from '@quiver/transformers';

const pretrain = await quiver.init({ project: 'topics', jobType: 'pretrain' });
const texts = [
  'The match went to extra time after a late goal.',
  'The striker scored twice and the team won the cup.',
  'Heavy rain and strong wind are forecast tonight.',
  'Snow and cold air arrive over the hills tomorrow.',
];
const tokenizer = quiverTransformers.buildTokenizer(texts);
const ids = tokenizer.encodeBatch(texts);
const xs = tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32');
const ys = tf.oneHot(tf.tensor1d([0, 0, 1, 1], 'int32'), 2);
const model = tf.sequential({
  layers: [
    tf.layers.embedding({ inputDim: tokenizer.vocabularySize, outputDim: 8, inputShape: [null] }),
    tf.layers.globalAveragePooling1d(),
    tf.layers.dense({ units: 2 }),
  ],
});
model.compile({
  optimizer: tf.train.adam(0.05),
  loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits),
});
await model.fit(xs, ys, {
  epochs: 8,
  callbacks: [
    quiverTfjs.checkpointCallback(pretrain, model, {
      hooks: [quiverTransformers.tokenizerFiles(tokenizer, ['sports', 'weather'])],
      registryModel: 'topics',
    }),
  ],
});
await pretrain.finish();
const client = await quiver.openClient();
await client.registry.setAlias('registry/topics:v0', 'production', { force: true });

const run = await quiver.init({ project: 'topics', jobType: 'train' });
`;

/** The versions of the one artifact a run logged (its checkpoints). */
async function checkpointsOf(client: QuiverClient, project: string, jobType = 'train') {
  const run = (await client.runs({ project })).find((candidate) => candidate.jobType === jobType);
  expect(run, `a ${jobType} run in ${project}`).toBeDefined();
  return client.versions(`${project}/model-${run!.id}`);
}

async function entryPaths(version: { entries(): Promise<Array<{ path: string }>> }): Promise<string[]> {
  return (await version.entries()).map((entry) => entry.path);
}

const EXAMPLES: Record<string, Example[]> = {
  'README.md': [
    {
      title: 'Use it from code: a run logs metrics and a checkpoint; a consumer downloads best',
      firstLine: "import { Artifact, init } from '@quiver/core';",
      files: {
        'out/model.json': '{"format":"layers-model"}',
        'out/weights/group1-shard1of1.bin': new Uint8Array([1, 2, 3, 4]),
      },
      async check({ cwd, client }) {
        const [version, ...older] = await client.versions('mnist/mlp');
        expect(older).toEqual([]);
        expect(version!.ref).toBe('me/mnist/mlp:v0'); // mnist/mlp:v0
        expect(version!.aliases).toEqual(['best', 'latest']);
        expect(version!.metadata).toEqual({ epoch: 3 });
        expect(await entryPaths(version!)).toEqual(['model.json', 'weights/group1-shard1of1.bin']);
        // verified, byte for byte
        expect(readFileSync(join(cwd, 'model/model.json'), 'utf8')).toBe('{"format":"layers-model"}');
        expect([...readFileSync(join(cwd, 'model/weights/group1-shard1of1.bin'))]).toEqual([1, 2, 3, 4]);
        const runs = await client.runs({ project: 'mnist' });
        const train = runs.find((run) => run.jobType === 'train')!;
        expect(train.config).toEqual({ lr: 1e-3 });
        expect((await client.run(train.id)).history).toEqual([
          expect.objectContaining({ _step: 0, loss: 0.42, acc: 0.88 }), // step 0
        ]);
        // records lineage
        const consumer = runs.find((run) => run.jobType === 'eval')!;
        expect((await client.run(consumer.id)).inputs.map((input) => input.ref)).toEqual(['me/mnist/mlp:v0']);
      },
    },
    {
      title: 'Checkpoints from TF.js: the callback logs on improvement, links best as staging, loads it',
      firstLine: "import { checkpointCallback, loadModel } from '@quiver/tfjs';",
      preamble: TFJS_RUN + TFJS_MODEL,
      async check({ client }) {
        // Checkpoints on improvement; best linked into the registry with alias staging (loaded).
        const versions = await checkpointsOf(client, 'digits');
        expect(versions.length).toBeGreaterThan(0);
        const best = versions.find((version) => version.aliases.includes('best'))!;
        expect(best.metadata.monitor).toBe('val_loss');
        const [model] = await client.registry.models();
        expect(model?.name).toBe('digits');
        expect((await client.registry.version('registry/digits:staging')).source.ref).toBe(best.ref);
      },
    },
    {
      title: 'ONNX checkpoints: every checkpoint carries model.onnx; production loads in onnxruntime',
      firstLine: "import { loadOnnxSession, onnxCheckpoints } from '@quiver/onnx';",
      preamble: TFJS_RUN + TFJS_MODEL + KEEP_CALLBACKS + DIGITS_PRODUCTION_ONNX,
      postamble: `${FIT_WITH_CALLBACKS}console.log('session inputs', session.inputNames, 'outputs', session.outputNames);\n`,
      async check({ stdout, client }) {
        expect(stdout).toMatch(/session inputs \[ '\w+' \] outputs \[ '\w+' \]/);
        const versions = await checkpointsOf(client, 'digits');
        expect(versions).toHaveLength(3); // logModel: 'all', 3 epochs
        for (const version of versions) {
          expect(await entryPaths(version)).toContain('model.onnx');
          const onnx = version.metadata.onnx as { opset: number; parity: { passed: boolean } };
          expect(onnx.opset).toBe(17);
          expect(onnx.parity.passed).toBe(true); // checked against TF.js on the validation inputs
        }
      },
    },
    {
      title:
        'Hugging Face Hub and transformers.js: checkpoints pushed to me/topics, a pipeline from the registry',
      firstLine: "import { hubCheckpoints, HubPusher, loadPipeline } from '@quiver/transformers';",
      hub: true,
      preamble: KEEP_CALLBACKS + TOPICS_PRODUCTION,
      postamble: `
await model.fit(xs, ys, { epochs: 3, callbacks });
await run.finish();
`,
      async check({ stdout, client }, hub) {
        if (!hub) throw new Error('needs the Hub stand-in');
        expect(stdout).toMatch(/\[ \{ label: '(sports|weather)', score: [0-9.e-]+ \} \]/);
        const paths = hub.tree('me/topics').map((file) => file.path);
        expect(paths).toEqual(
          expect.arrayContaining(['model.json', 'weights.bin', 'last-checkpoint/model.json']),
        );
        // Each push is a Quiver version of hf://me/topics@<commit>/<path> references.
        const pushes = await client.versions('topics/hub-topics');
        expect(pushes.length).toBeGreaterThan(0);
        const commits = hub.commits('me/topics').map((commit) => commit.oid);
        for (const push of pushes) {
          const weights = (await push.entries()).find((entry) => entry.path === 'weights.bin');
          const [, commit] =
            /^hf:\/\/me\/topics@([0-9a-f]{40})\/weights\.bin$/.exec(weights?.ref ?? '') ?? [];
          expect(commits).toContain(commit);
        }
      },
    },
  ],
  'packages/core/README.md': [
    {
      title: 'a run logs three metrics rows and a version with best and latest',
      firstLine: "import { Artifact, init } from '@quiver/core';",
      files: { 'model.json': '{"layers":2}' },
      preamble: 'const bytes = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);\n',
      async check({ stdout, client }) {
        expect(stdout).toBe("me/mnist/mlp:v0 [ 'best', 'latest' ]\n");
        const [version] = await client.versions('mnist/mlp');
        expect(await entryPaths(version!)).toEqual(['model.json', 'weights.bin']);
        expect(version!.metadata).toEqual({ epoch: 2 });
        const [run] = await client.runs({ project: 'mnist' });
        const details = await client.run(run!.id);
        expect(details.state).toBe('finished');
        expect(details.history.map((row) => row.loss)).toEqual([1, 1 / 2, 1 / 3]);
      },
    },
  ],
  'packages/server/README.md': [
    {
      title: 'a server over an embedded store listens on a free port and closes',
      firstLine: "import { openEmbeddedStore } from '@quiver/core';",
      check({ code, stdout }) {
        expect(code).toBe(0);
        expect(stdout).toMatch(/^serving \/.+\/blobs on http:\/\/127\.0\.0\.1:\d+\n$/);
      },
    },
  ],
  'packages/tfjs/README.md': [
    {
      title: 'the callback keeps best with the optimizer state; loadModel loads it back',
      firstLine: "import { init } from '@quiver/core';",
      preamble: TFJS_MODEL,
      async check({ client }) {
        const versions = await checkpointsOf(client, 'digits');
        const best = versions.find((version) => version.aliases.includes('best'))!;
        expect(best.metadata.includesOptimizer).toBe(true);
        const [run] = await client.runs({ project: 'digits' });
        expect(run!.state).toBe('finished');
      },
    },
    {
      title: 'a checkpoint hook adds a file and a format to every checkpoint',
      firstLine: "import type { CheckpointHook } from '@quiver/tfjs';",
      preamble: `${TFJS_RUN + TFJS_MODEL + KEEP_CALLBACKS}
/** The fragment's own converter (here: the topology as JSON). */
const convert = async (artifacts: tf.io.ModelArtifacts) => JSON.stringify(artifacts.modelTopology);
`,
      postamble: FIT_WITH_CALLBACKS,
      async check({ client }) {
        const versions = await checkpointsOf(client, 'digits');
        expect(versions.length).toBeGreaterThan(0);
        for (const version of versions) {
          expect(await entryPaths(version)).toEqual(
            expect.arrayContaining(['model.json', 'weights.bin', 'model.myformat']),
          );
          expect(version.metadata.formats).toEqual(['tfjs', 'myformat']);
        }
      },
    },
  ],
  'packages/onnx/README.md': [
    {
      title: 'export with parity, ONNX on every checkpoint, log a model from elsewhere, serve production',
      firstLine: "import { exportOnnx, loadOnnxSession, logOnnx, onnxCheckpoints } from '@quiver/onnx';",
      preamble: `${TFJS_RUN + TFJS_MODEL + KEEP_CALLBACKS + DIGITS_PRODUCTION_ONNX}import * as fs from 'node:fs';

fs.mkdirSync('./exported', { recursive: true });
fs.writeFileSync('./exported/model.onnx', quiverOnnx.toOnnx(model, { opset: 13 }).bytes); // "from elsewhere"
`,
      postamble: `${FIT_WITH_CALLBACKS}console.log(JSON.stringify({ size: bytes.length, inputs: signature.inputs.map((input) => input.name), parity: parity?.passed, session: session.inputNames }));\n`,
      async check({ stdout, client }) {
        const printed = JSON.parse(stdout.trim().split('\n').at(-1)!);
        expect(printed).toMatchObject({ parity: true, inputs: [expect.any(String)] });
        expect(printed.size).toBeGreaterThan(100);
        expect(printed.session).toEqual(printed.inputs);
        const versions = await checkpointsOf(client, 'digits');
        expect(versions).toHaveLength(3);
        for (const version of versions) expect(await entryPaths(version)).toContain('model.onnx');
        const [detector] = await client.versions('digits/detector');
        expect(detector!.aliases).toEqual(['candidate', 'latest']);
        expect((detector!.metadata.onnx as { opset: number }).opset).toBe(13);
      },
    },
  ],
  'packages/transformers/README.md': [
    {
      title: 'checkpoints pushed by the callback (checkpoint strategy) and by HubPusher from any loop',
      firstLine: "import { mkdirSync, writeFileSync } from 'node:fs';",
      hub: true,
      async check({ client }, hub) {
        if (!hub) throw new Error('needs the Hub stand-in');
        const root = hub.tree('me/topics').map((file) => file.path);
        expect(root).toEqual(
          expect.arrayContaining(['model.json', 'weights.bin', 'last-checkpoint/weights.bin']),
        );
        const loop = hub.tree('me/topics-loop').map((file) => file.path);
        expect(loop).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'README.md']));
        expect((await client.versions('topics/hub-topics')).length).toBeGreaterThan(0);
        expect((await client.versions('topics/hub-topics-loop')).length).toBeGreaterThan(0);
      },
    },
    {
      title: 'a tokenizer in every checkpoint, staging exported for transformers.js and run as a pipeline',
      firstLine: "import { init } from '@quiver/core';",
      async check({ stdout, cwd, client }) {
        expect(stdout).toMatch(/\[ \{ label: '(sports|weather)', score: [0-9.e-]+ \} \]/);
        for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'])
          expect(existsSync(join(cwd, 'topics', file)), file).toBe(true);
        const staging = await client.registry.version('registry/topics:staging');
        expect(await entryPaths(await client.artifact(staging.source.ref))).toEqual(
          expect.arrayContaining(['tokenizer.json', 'tokenizer_config.json']),
        );
      },
    },
  ],
};

// ---------------------------------------------------------------------------------------------

const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const WORKSPACE_MODULES = join(ROOT, 'test/node_modules');

function runBlock(
  file: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, '--conditions=source', file], {
      cwd,
      // Nothing of the surrounding QUIVER_* / HF_* setup (e.g. a PostgreSQL URL) reaches the block.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(QUIVER_|HF_)/.test(name))),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: code === null ? `${stderr}\n(killed after ${timeoutMs} ms)` : stderr });
    });
  });
}

describe('README examples run as written', () => {
  const folders: string[] = [];
  const clients: QuiverClient[] = [];
  const hubs: HubServer[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(hubs.map((hub) => hub.close()));
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  const blocks = READMES.flatMap(tsBlocks);

  it('every ```ts block of every README has an example spec here, and every spec a block', () => {
    const specified = Object.entries(EXAMPLES).flatMap(([readme, examples]) =>
      examples.map((_, index) => `${readme} #${index}`),
    );
    expect(specified).toEqual(blocks.map((block) => `${block.readme} #${block.index}`));
  });

  for (const block of blocks) {
    const example = EXAMPLES[block.readme]?.[block.index];
    it.concurrent(`${block.readme} block ${block.index}: ${example?.title ?? '(no spec)'}`, {
      timeout: 240_000,
    }, async () => {
      expect(example, 'a spec for this block in EXAMPLES').toBeDefined();
      const spec = example!;
      expect(block.code.split('\n')[0], 'the block this spec was written for').toBe(spec.firstLine);

      const cwd = mkdtempSync(join(tmpdir(), 'quiver-readme-'));
      folders.push(cwd);
      // Resolve @quiver/* (from their sources) and @tensorflow/tfjs as a user's project would.
      symlinkSync(WORKSPACE_MODULES, join(cwd, 'node_modules'), 'dir');
      writeFileSync(join(cwd, 'package.json'), JSON.stringify({ type: 'module', private: true }));
      for (const [path, content] of Object.entries(spec.files ?? {})) {
        mkdirSync(dirname(join(cwd, path)), { recursive: true });
        writeFileSync(join(cwd, path), content);
      }
      const program = [
        spec.preamble ? `// --- preamble (test/readme-examples.test.ts)\n${spec.preamble}` : '',
        `// --- ${block.readme}, block ${block.index}, verbatim\n${block.code}`,
        spec.postamble ? `// --- postamble (test/readme-examples.test.ts)\n${spec.postamble}` : '',
      ].join('\n');
      const file = join(cwd, 'example.ts');
      writeFileSync(file, program);
      const store = join(cwd, '.quiver');
      // Each block that pushes gets its own Hub stand-in (the public Hub is out of reach here).
      const hub = spec.hub ? await startHubServer() : undefined;
      if (hub) hubs.push(hub);
      const result = await runBlock(
        file,
        cwd,
        {
          QUIVER_DIR: store,
          QUIVER_ENTITY: 'me',
          ...(hub ? { HF_ENDPOINT: hub.url, HF_TOKEN: hub.createToken({ user: 'me' }) } : {}),
        },
        200_000,
      );
      const context = `${block.readme} block ${block.index} (${file})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
      if (spec.defect) {
        expect(result.code, `fixed? remove the 'defect' entry: ${spec.defect.reason}\n${context}`).not.toBe(
          0,
        );
        expect(result.stderr, context).toMatch(spec.defect.stderr);
      } else {
        expect(result.code, context).toBe(0);
      }
      expect(existsSync(store), context).toBe(true);
      const client = new QuiverClient(await openStore({ dir: store, entity: 'me' }));
      clients.push(client);
      await spec.check({ ...result, cwd, client }, hub);
    });
  }
});
