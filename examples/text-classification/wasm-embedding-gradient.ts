/**
 * TF.js 4.22's wasm backend has no `UnsortedSegmentSum` kernel, which the gradient of `gather`
 * (and so of every Embedding layer) uses: `fit` fails with "Kernel 'UnsortedSegmentSum' not
 * registered for backend 'wasm'". This registers a GatherV2 gradient that, on wasm and for the
 * Embedding case (axis 0, no batch dims), sums the rows with a one-hot matrix product instead;
 * every other case keeps TF.js's own gradient.
 */
import * as tf from '@tensorflow/tfjs';

export function enableEmbeddingGradientOnWasm(): void {
  const original = tf.getGradient('GatherV2');
  if (!original) return;
  tf.registerGradient({
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const { axis, batchDims } = attrs as { axis: number; batchDims: number };
      const [x, indices] = saved as [tf.Tensor, tf.Tensor];
      if (tf.getBackend() !== 'wasm' || axis !== 0 || batchDims !== 0)
        return original.gradFunc(dy, saved, attrs);
      return {
        x: () => {
          const flat = indices.reshape([-1]).toInt();
          const values = (dy as tf.Tensor).reshape([flat.size, -1]);
          const oneHot = tf.oneHot(flat, x.shape[0] as number).toFloat();
          return tf.matMul(oneHot, values, true, false).reshape(x.shape);
        },
        indices: () => indices,
      };
    },
  });
}
