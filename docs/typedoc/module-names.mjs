// A TypeDoc plugin: names each entry point's module after the package export it documents
// (`packages/core/src/index.ts` → `@quiver/core`, `packages/transformers/src/testing/index.ts` →
// `@quiver/transformers/testing`) instead of its folder (`core/src`).
import { readFileSync } from 'node:fs';
import { Converter, ReflectionKind } from 'typedoc';

const ROOT = new URL('../../', import.meta.url);

/** @param {string} name a module name TypeDoc derived from the path, e.g. `transformers/src/testing` */
function packageExportName(name) {
  const match = /^([a-z0-9-]+)\/src(?:\/(.+))?$/.exec(name);
  if (!match) return undefined;
  const [, folder, subpath] = match;
  const manifest = JSON.parse(readFileSync(new URL(`packages/${folder}/package.json`, ROOT), 'utf8'));
  return subpath ? `${manifest.name}/${subpath}` : manifest.name;
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const name = packageExportName(reflection.name);
    if (name) reflection.name = name;
  });
}
