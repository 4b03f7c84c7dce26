import { join } from 'node:path';
/** The Hub destination as a hook of the TF.js checkpoint callback. */
import type { CheckpointHook } from '@quiver/tfjs';
import { type HubPushOptions, resolveHubOptions, resolveHubToken } from './hub-options.js';
import { HubPusher } from './hub-push.js';

/**
 * A `CheckpointHook` that pushes committed checkpoints to a Hub repo (strategy, repo, token… as
 * {@link HubPushOptions} or their environment variables). Pushes run in the background; the end of
 * training waits for them and pushes the final checkpoint.
 *
 * @example
 * checkpointCallback(run, model, { hooks: [hubCheckpoints({ repo: 'me/classifier', strategy: 'checkpoint' })] });
 */
export function hubCheckpoints(
  options: HubPushOptions = {},
): CheckpointHook & { readonly pusher: HubPusher | undefined } {
  // Bad options (no repo, an invalid strategy, a token that is not one) fail here, before training.
  resolveHubOptions(options);
  resolveHubToken(options);
  let pusher: HubPusher | undefined;
  return {
    name: 'huggingface-hub',
    get pusher() {
      return pusher;
    },
    async afterCommit({ run, version, step, epoch, metrics }) {
      pusher ??= new HubPusher(run, options);
      // Pushed from the store's own files when it keeps them on this disk; otherwise from a
      // verified download into the run's cache.
      let files = await version.localFiles();
      if (!files) {
        const dir = await version.download(join(run.cacheDir, 'hub-push', version.digest));
        files = (await version.entries())
          .filter((entry) => entry.ref === undefined)
          .map((entry) => ({ ...entry, file: join(dir, entry.path) }));
      }
      await pusher.onSave(files, { step, epoch, metrics });
    },
    async onTrainEnd() {
      await pusher?.finish();
    },
  };
}
