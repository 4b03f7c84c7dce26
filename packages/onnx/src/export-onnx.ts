/** Export with the parity check, and the metadata a version records about its ONNX file. */
import { rename, rm, writeFile } from 'node:fs/promises';
import type { JsonObject } from '@quiver/core';
import type * as tf from '@tensorflow/tfjs';
import type { OnnxModelInfo } from './inspect.js';
import { type ParityOptions, type ParityReport, runParity } from './parity.js';
import { type OnnxExport, type ToOnnxOptions, toOnnx } from './to-onnx.js';

export interface ExportOnnxOptions extends ToOnnxOptions {
  /** The parity check's options, or `false` to skip it (default: checked, mismatch is an error). */
  parity?: ParityOptions | false;
  /** Also write the model to this path, once the parity check has passed (atomically renamed). */
  path?: string;
}

export interface CheckedOnnxExport extends OnnxExport {
  /** Present unless the check was skipped. */
  parity?: ParityReport;
}

/** `toOnnx` followed by the parity check against the same TF.js model. */
export async function exportOnnx(
  model: tf.LayersModel,
  options: ExportOnnxOptions = {},
): Promise<CheckedOnnxExport> {
  const { parity, path, ...convert } = options;
  let exported = toOnnx(model, convert);
  // Written under a temporary name first: a file at `path` appears only once parity has passed.
  const temporary = path === undefined ? undefined : `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    let report: ParityReport | undefined;
    let written = false;
    if (parity !== false) {
      // The bytes are ours: onnxruntime takes them to its worker (which writes the file meanwhile).
      const checked = await runParity(model, exported, parity ?? {}, true, temporary);
      exported = { ...exported, bytes: checked.bytes };
      report = checked.report;
      written = checked.written;
    }
    if (temporary !== undefined && path !== undefined) {
      if (!written) await writeFile(temporary, exported.bytes);
      await rename(temporary, path);
    }
    return report ? { ...exported, parity: report } : exported;
  } catch (error) {
    if (temporary !== undefined) await rm(temporary, { force: true });
    throw error;
  }
}

/** Where the figures are not finite (a mismatch in warn mode), JSON cannot hold them. */
function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** `metadata.onnx` for a version: signature, opset, IR version, producer, sizes, parity. */
export function onnxMetadata(
  info: Pick<OnnxModelInfo, 'irVersion' | 'opsets' | 'producer' | 'signature' | 'parameterCount'> &
    Partial<Pick<OnnxModelInfo, 'metadataProps' | 'externalData'>>,
  extra: { file: string; fileSize: number; parity?: ParityReport | undefined },
): JsonObject {
  const parity = extra.parity;
  return {
    file: extra.file,
    fileSize: extra.fileSize,
    irVersion: info.irVersion,
    opset: info.opsets['ai.onnx'] ?? null,
    opsets: info.opsets,
    producer: info.producer,
    parameterCount: info.parameterCount,
    signature: info.signature as unknown as JsonObject,
    ...(info.metadataProps && Object.keys(info.metadataProps).length > 0
      ? { metadataProps: info.metadataProps }
      : {}),
    ...(info.externalData && info.externalData.length > 0 ? { externalData: info.externalData } : {}),
    ...(parity
      ? {
          parity: {
            passed: parity.passed,
            samples: parity.samples,
            inputSource: parity.inputSource,
            runtime: parity.runtime,
            tolerance: parity.tolerance,
            maxAbsoluteDifference: finite(
              Math.max(0, ...parity.outputs.map((output) => output.maxAbsoluteDifference)),
            ),
            maxRelativeDifference: finite(
              Math.max(0, ...parity.outputs.map((output) => output.maxRelativeDifference)),
            ),
            outputs: parity.outputs.map((output) => ({
              name: output.name,
              maxAbsoluteDifference: finite(output.maxAbsoluteDifference),
              maxRelativeDifference: finite(output.maxRelativeDifference),
            })),
          },
        }
      : {}),
  };
}

/** The `OnnxModelInfo` of an export made here (no decoding needed). */
export function infoOfExport(exported: OnnxExport): OnnxModelInfo {
  return {
    irVersion: exported.irVersion,
    opsets: { 'ai.onnx': exported.opset },
    producer: exported.producer,
    metadataProps: {},
    signature: exported.signature,
    parameterCount: exported.parameterCount,
    externalData: [],
  };
}
