/** Logs ONNX models exported anywhere: decoded, loaded by onnxruntime-node, then committed. */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Artifact, type ArtifactVersion, type JsonObject, QuiverError, type Run } from '@quiver/core';
import * as ort from 'onnxruntime-node';
import { onnxMetadata } from './export-onnx.js';
import { inspectOnnx, type OnnxModelInfo } from './inspect.js';

export interface LogOnnxOptions {
  /** The artifact's name. */
  name: string;
  aliases?: readonly string[];
  description?: string;
  /** Extra metadata, merged under the `onnx` and `format` keys Quiver writes. */
  metadata?: JsonObject;
  /** The file's name inside the version (default: the file's own name, or `model.onnx`). */
  fileName?: string;
  /** Where external data files live when the model is given as bytes. */
  externalDataDir?: string;
}

function invalid(message: string, details: Record<string, unknown> = {}, cause?: unknown): QuiverError {
  return new QuiverError('E_INVALID_MODEL', message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** An external data location must stay inside the model's folder. */
function assertSafeLocation(location: string): void {
  const normalized = normalize(location);
  if (isAbsolute(location) || normalized.split(sep).includes('..') || location.includes('\0'))
    throw invalid(
      `The model's external data location "${location}" leaves the model's folder; refusing to read it.`,
      {
        location,
      },
    );
}

async function readSource(source: string | Uint8Array): Promise<{ bytes: Uint8Array; path?: string }> {
  if (typeof source !== 'string') return { bytes: source };
  const info = await stat(source).catch(() => undefined);
  if (!info)
    throw new QuiverError('E_FILE_NOT_FOUND', `No ONNX file at ${source}.`, { details: { path: source } });
  if (!info.isFile())
    throw new QuiverError('E_NOT_A_FILE', `${source} is not a file.`, { details: { path: source } });
  return { bytes: await readFile(source), path: source };
}

/** Fails with `E_INVALID_MODEL` unless onnxruntime-node can create a session for the model. */
async function assertLoads(target: string | Uint8Array, label: string): Promise<void> {
  let session: ort.InferenceSession | undefined;
  try {
    session =
      typeof target === 'string'
        ? await ort.InferenceSession.create(target, { logSeverityLevel: 4 })
        : await ort.InferenceSession.create(target, { logSeverityLevel: 4 });
  } catch (error) {
    throw invalid(
      `onnxruntime-node cannot load ${label}: ${(error as Error).message}`,
      { source: label },
      error,
    );
  } finally {
    await session?.release();
  }
}

/**
 * Logs an ONNX model (a path or its bytes) as a `model` version: decodes its protobuf (IR,
 * opsets, producer, `metadata_props`, signature), checks that onnxruntime-node loads it, and
 * commits it with its external data files. A file that is not a loadable model is refused with
 * `E_INVALID_MODEL` and nothing is logged.
 */
export async function logOnnx(
  run: Run,
  source: string | Uint8Array,
  options: LogOnnxOptions,
): Promise<ArtifactVersion> {
  const { bytes, path } = await readSource(source);
  const label = path ?? 'the given bytes';
  const info: OnnxModelInfo = inspectOnnx(bytes, label);
  const fileName = options.fileName ?? (path ? basename(path) : 'model.onnx');
  const dataDir = path ? dirname(path) : options.externalDataDir;
  if (info.externalData.length > 0) {
    if (!dataDir)
      throw invalid(
        `The model keeps its weights in external files (${info.externalData.join(', ')}); pass its path, or externalDataDir.`,
      );
    for (const location of info.externalData) {
      assertSafeLocation(location);
      const file = await stat(join(dataDir, location)).catch(() => undefined);
      if (!file?.isFile())
        throw invalid(`The model's external data file ${location} is missing from ${dataDir}.`, { location });
    }
  }
  if (path || info.externalData.length === 0) await assertLoads(path ?? bytes, label);
  else {
    // onnxruntime resolves external data relative to the model's path: check bytes from beside it.
    const probe = join(dataDir as string, `.quiver-probe-${process.pid}-${Date.now()}.onnx`);
    await writeFile(probe, bytes);
    try {
      await assertLoads(probe, label);
    } finally {
      await rm(probe, { force: true });
    }
  }

  const artifact = new Artifact(options.name, 'model', {
    metadata: {
      ...options.metadata,
      format: 'onnx',
      formats: ['onnx'],
      onnx: onnxMetadata(info, { file: fileName, fileSize: bytes.byteLength }),
    },
    ...(options.description === undefined ? {} : { description: options.description }),
  });
  if (path) artifact.addFile(path, { name: fileName });
  else artifact.addBytes(fileName, bytes);
  for (const location of info.externalData)
    artifact.addFile(join(dataDir as string, location), { name: location.split(sep).join('/') });
  return run.logArtifact(artifact, options.aliases ? { aliases: options.aliases } : {});
}
