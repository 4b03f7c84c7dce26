import * as tf from '@tensorflow/tfjs';

/** Three interleaved spirals in 2-D (seeded, so every page and script gets the same points). */
export function spirals(samplesPerClass: number, seed = 7): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  let state = seed;
  const random = (): number => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
  const points: number[][] = [];
  const labels: number[] = [];
  for (let label = 0; label < 3; label++) {
    for (let index = 0; index < samplesPerClass; index++) {
      const radius = index / samplesPerClass;
      const angle = label * ((2 * Math.PI) / 3) + radius * 4 + (random() - 0.5) * 0.4;
      points.push([radius * Math.cos(angle), radius * Math.sin(angle)]);
      labels.push(label);
    }
  }
  const order = labels.map((_, index) => index).sort(() => random() - 0.5);
  return {
    xs: tf.tensor2d(order.map((index) => points[index]!)),
    ys: tf.oneHot(
      tf.tensor1d(
        order.map((index) => labels[index]!),
        'int32',
      ),
      3,
    ) as tf.Tensor2D,
  };
}

/** The points the page predicts after training (a script can predict the same ones). */
export const PROBE = [
  [0, 0],
  [0.5, 0.1],
  [-0.3, 0.6],
  [0.2, -0.7],
  [-0.8, -0.2],
];
