/**
 * The ONNX export hook of the TF.js checkpoint callback: each checkpoint version carries
 * `model.onnx` beside the TF.js files, proven by the parity check to compute the same thing.
 */
import { type Artifact, type JsonObject, QuiverError } from '@quiver/core';
import type { CheckpointDraft, CheckpointHook } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { type CheckedOnnxExport, exportOnnx, infoOfExport, onnxMetadata } from './export-onnx.js';
import type { ParityOptions } from './parity.js';
import type { ToOnnxOptions } from './to-onnx.js';

/** What a user hook sees after the export, to add files (a quantised variant, a report, …). */
export interface OnnxExportContext {
  draft: Artifact;
  metadata: JsonObject;
  onnx: CheckedOnnxExport;
  /** The checkpoint's model, rebuilt from its snapshot; disposed after the hook returns. */
  model: tf.LayersModel;
  epoch: number;
  step: number;
  metrics: Record<string, number>;
}

export interface OnnxCheckpointOptions extends ToOnnxOptions {
  /** Name of the ONNX file in each version (default `model.onnx`). */
  fileName?: string;
  /**
   * The parity check (default: 16 generated samples; mismatch fails the checkpoint as the
   * callback's `onError` says). Pass validation inputs as `samples`, or `false` to skip it.
   */
  parity?: ParityOptions | false;
  /** Runs after each export on the callback's queue; may add files to `draft`. */
  afterExport?(context: OnnxExportContext): Promise<void> | void;
}

/** Rebuilds the checkpoint's model from its snapshot (without optimizer state). */
async function modelOf(checkpoint: CheckpointDraft): Promise<tf.LayersModel> {
  const { modelTopology, weightSpecs, weightData } = checkpoint.modelArtifacts;
  if (!modelTopology)
    throw new QuiverError(
      'E_INVALID_OPTION',
      'The ONNX export needs the model topology, but the checkpoint holds weights only: do not combine saveWeightsOnly with the onnx hook.',
      { details: { option: 'saveWeightsOnly' } },
    );
  const specs = (weightSpecs ?? []).filter((spec) => spec.group !== 'optimizer');
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology, weightSpecs: specs, ...(weightData ? { weightData } : {}) }),
  );
}

/**
 * A `CheckpointHook` that adds `model.onnx` to every checkpoint. It runs on the callback's queue,
 * never in the training loop.
 *
 * @example
 * checkpointCallback(run, model, { logModel: 'all', hooks: [onnxCheckpoints({ parity: { samples: xVal } })] });
 */
export function onnxCheckpoints(options: OnnxCheckpointOptions = {}): CheckpointHook {
  const { fileName = 'model.onnx', parity, afterExport, ...convert } = options;
  return {
    name: 'onnx',
    async beforeCommit(checkpoint) {
      const model = await modelOf(checkpoint);
      try {
        const onnx = await exportOnnx(model, {
          ...convert,
          parity: parity === false ? false : { sampleCount: 16, ...parity },
        });
        checkpoint.draft.addBytes(fileName, onnx.bytes);
        const formats = Array.isArray(checkpoint.metadata.formats) ? checkpoint.metadata.formats : ['tfjs'];
        checkpoint.metadata.formats = [...formats.filter((format) => format !== 'onnx'), 'onnx'];
        checkpoint.metadata.onnx = onnxMetadata(infoOfExport(onnx), {
          file: fileName,
          fileSize: onnx.bytes.byteLength,
          parity: onnx.parity,
        });
        await afterExport?.({
          draft: checkpoint.draft,
          metadata: checkpoint.metadata,
          onnx,
          model,
          epoch: checkpoint.epoch,
          step: checkpoint.step,
          metrics: checkpoint.metrics,
        });
      } finally {
        model.dispose();
      }
    },
  };
}
