/**
 * Every URL of the app, in one place, so pages link to each other without spelling paths.
 * Entities, projects and names are path segments (names are [A-Za-z0-9._-], so they need no
 * escaping beyond what encodeURIComponent does).
 */
const seg = encodeURIComponent;

export const paths = {
  home: () => '/',
  signIn: () => '/signin',
  projects: (entity: string) => `/projects/${seg(entity)}`,
  artifacts: (entity: string, project: string) => `/projects/${seg(entity)}/${seg(project)}/artifacts`,
  artifact: (entity: string, project: string, name: string) =>
    `/projects/${seg(entity)}/${seg(project)}/artifacts/${seg(name)}`,
  version: (entity: string, project: string, name: string, version: number) =>
    `/projects/${seg(entity)}/${seg(project)}/artifacts/${seg(name)}/v${version}`,
  lineage: (entity: string, project: string, name: string, version: number) =>
    `/projects/${seg(entity)}/${seg(project)}/artifacts/${seg(name)}/v${version}/lineage`,
  runs: (entity: string, project: string) => `/projects/${seg(entity)}/${seg(project)}/runs`,
  run: (entity: string, project: string, runId: string) =>
    `/projects/${seg(entity)}/${seg(project)}/runs/${seg(runId)}`,
  /** Several runs' charts overlaid. */
  compare: (entity: string, project: string, runIds: string[]) =>
    `/projects/${seg(entity)}/${seg(project)}/compare?runs=${runIds.map(seg).join(',')}`,
  registry: (entity?: string) => (entity ? `/registry/${seg(entity)}` : '/registry'),
  model: (entity: string, registry: string, model: string) =>
    `/registry/${seg(entity)}/${seg(registry)}/${seg(model)}`,
};

/** The page of an artifact version given its info (`entity/project/name:vN`). */
export const versionPath = (v: { entity: string; project: string; name: string; version: number }) =>
  paths.version(v.entity, v.project, v.name, v.version);

/** The page of a run given its info. */
export const runPath = (r: { entity: string; project: string; id: string }) =>
  paths.run(r.entity, r.project, r.id);
