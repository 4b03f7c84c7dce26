#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { main } from './program.js';

/**
 * `pnpm quiver …` (and `npm run quiver -- …`) runs in the package root, not where the user typed
 * it; the package manager keeps that folder in INIT_CWD. Relative paths on the command line mean
 * the user's folder, so move there first — only for the pass-through `quiver` script, and only
 * when the script itself did not change folder (scripts of other names keep the root, as their
 * authors expect).
 */
function enterInvokingFolder(env: NodeJS.ProcessEnv = process.env): void {
  const from = env.INIT_CWD;
  if (env.npm_lifecycle_event !== 'quiver' || !from) return;
  try {
    if (env.npm_package_json && realpathSync(dirname(env.npm_package_json)) !== realpathSync(process.cwd()))
      return;
    process.chdir(from);
  } catch {
    // INIT_CWD is gone or unreadable: stay in the package root
  }
}

enterInvokingFolder();
process.exitCode = await main(process.argv.slice(2));
