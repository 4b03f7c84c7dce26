// A simulated training loop: logs metrics every step and a checkpoint artifact every epoch,
// moving `best` to the epoch with the lowest validation loss. Run with `pnpm demo`.
import { Artifact, init } from '@quiver/core';

const EPOCHS = Number(process.env.DEMO_EPOCHS ?? 5);
const STEPS_PER_EPOCH = 50;

/** A deterministic noisy curve so every run tells the same story. */
function simulatedLoss(step: number, seed: number): number {
  return 2 / Math.sqrt(1 + step / 10) + 0.05 * Math.sin(step * 1.7 + seed);
}

const run = await init({
  project: process.env.QUIVER_PROJECT ?? 'quiver-demo',
  jobType: 'train',
  config: { epochs: EPOCHS, stepsPerEpoch: STEPS_PER_EPOCH, learningRate: 0.01, layers: [784, 128, 10] },
  tags: ['demo'],
});
console.log(`run ${run.id} (${run.name}) in ${run.entity}/${run.project}`);

let bestValLoss = Number.POSITIVE_INFINITY;
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  for (let batch = 0; batch < STEPS_PER_EPOCH; batch++) {
    const step = (epoch - 1) * STEPS_PER_EPOCH + batch;
    run.log({ loss: simulatedLoss(step, 0), lr: 0.01 * 0.9 ** (epoch - 1) }, { step });
  }
  const step = epoch * STEPS_PER_EPOCH - 1;
  // Validation gets worse in the last epoch: `best` must stay on the better one.
  const valLoss = simulatedLoss(step, 1) + (epoch === EPOCHS ? 0.3 : 0);
  run.log({ val_loss: valLoss, epoch }, { step });

  // A checkpoint: topology and weights (bytes that change every epoch).
  const weights = new Float32Array(32 * 1024).map((_, index) => Math.sin(index + epoch));
  const checkpoint = new Artifact(`model-${run.id}`, 'model', {
    description: `Checkpoint after epoch ${epoch} of the simulated MLP.`,
    metadata: { epoch, step, val_loss: valLoss, monitor: 'val_loss', mode: 'min' },
  })
    .addBytes(
      'model.json',
      JSON.stringify({
        format: 'layers-model',
        layers: [784, 128, 10],
        weightsManifest: [{ paths: ['weights.bin'] }],
      }),
    )
    .addBytes('weights.bin', new Uint8Array(weights.buffer));
  const isBest = valLoss < bestValLoss;
  if (isBest) bestValLoss = valLoss;
  const version = await run.logArtifact(checkpoint, {
    aliases: [`epoch-${epoch}`, ...(isBest ? ['best'] : [])],
  });
  console.log(
    `epoch ${epoch}: val_loss ${valLoss.toFixed(4)} → ${version.ref} [${version.aliases.join(', ')}]`,
  );
}
const summary = await run.finish();
const artifact = `${run.project}/model-${run.id}`;
console.log(`
finished: ${summary.state}, best val_loss ${summary.summary.val_loss?.min.toFixed(4)}

Look at what was logged:
  pnpm quiver run show ${run.id}
  pnpm quiver artifact ls ${artifact}
  pnpm quiver artifact show ${artifact}:best
  pnpm quiver lineage ${artifact}:best
  pnpm quiver get ${artifact}:best ./best-model
  pnpm quiver verify`);
