import type {
  ArtifactVersionInfo,
  LineageEdge,
  LineageGraph,
  LineageNode,
  RegistryVersionInfo,
  RunInfo,
} from '../../contract/index.js';
import { selectVersions, toVersionInfos } from './artifact-records.js';
import type { EmbeddedContext as Store } from './context.js';
import { keyOf } from './keys.js';
import { registryVersionsByLinkIds } from './registry/registry-records.js';
import { getRun } from './run-records.js';

const versionNodeId = (id: string): string => `artifact:${id}`;
const runNodeId = (id: string): string => `run:${id}`;
const linkNodeId = (id: string): string => `registry:${id}`;

async function linksOfVersion(store: Store, versionId: number): Promise<RegistryVersionInfo[]> {
  const db = store.connection.db;
  const rows = await db
    .selectFrom('registry_links')
    .select('id')
    .where('source_version_id', '=', versionId)
    .execute();
  return registryVersionsByLinkIds(
    db,
    rows.map((row) => row.id),
  );
}

async function registryInputs(store: Store, runId: string): Promise<RegistryVersionInfo[]> {
  const db = store.connection.db;
  const rows = await db.selectFrom('registry_usage').select('link_id').where('run_id', '=', runId).execute();
  return registryVersionsByLinkIds(
    db,
    rows.map((row) => row.link_id),
  );
}

async function registryConsumers(store: Store, linkId: number): Promise<RunInfo[]> {
  const rows = await store.connection.db
    .selectFrom('registry_usage')
    .select('run_id')
    .where('link_id', '=', linkId)
    .orderBy('used_at')
    .execute();
  return Promise.all(rows.map((row) => getRun(store, row.run_id)));
}

async function versionsWhere(
  store: Store,
  column: 'produced_by_run' | 'usage',
  runId: string,
): Promise<ArtifactVersionInfo[]> {
  const db = store.connection.db;
  let query = selectVersions(db);
  query =
    column === 'produced_by_run'
      ? query.where('v.produced_by_run', '=', runId)
      : query.where(
          'v.id',
          'in',
          db.selectFrom('artifact_usage').select('version_id').where('run_id', '=', runId),
        );
  return toVersionInfos(db, await query.orderBy('v.id').execute());
}

/** The versions a run logged. */
export function runOutputs(store: Store, runId: string): Promise<ArtifactVersionInfo[]> {
  return versionsWhere(store, 'produced_by_run', runId);
}

/** The versions a run used. */
export function runInputs(store: Store, runId: string): Promise<ArtifactVersionInfo[]> {
  return versionsWhere(store, 'usage', runId);
}

/** The runs that used a version. */
export async function versionConsumers(store: Store, versionId: number): Promise<RunInfo[]> {
  const rows = await store.connection.db
    .selectFrom('artifact_usage')
    .select('run_id')
    .where('version_id', '=', versionId)
    .orderBy('used_at')
    .execute();
  return Promise.all(rows.map((row) => getRun(store, row.run_id)));
}

/**
 * Walks lineage both ways from a version, a registry version or a run for `depth` hops: version
 * ← producing run ← its inputs …, and version → registry versions → consuming runs → their
 * outputs ….
 */
export async function walkLineage(
  store: Store,
  start: { version: ArtifactVersionInfo } | { runId: string } | { registryVersion: RegistryVersionInfo },
  depth = 3,
): Promise<LineageGraph> {
  const nodes = new Map<string, LineageNode>();
  const edges = new Map<string, LineageEdge>();
  const addEdge = (edge: LineageEdge): void => {
    edges.set(`${edge.from}>${edge.to}`, edge);
  };
  let frontier: LineageNode[];
  if ('version' in start) {
    frontier = [{ kind: 'artifact', id: versionNodeId(start.version.id), version: start.version }];
  } else if ('registryVersion' in start) {
    frontier = [
      {
        kind: 'registry',
        id: linkNodeId(start.registryVersion.linkId),
        registryVersion: start.registryVersion,
      },
    ];
  } else {
    frontier = [{ kind: 'run', id: runNodeId(start.runId), run: await getRun(store, start.runId) }];
  }
  const root = frontier[0]!.id;
  nodes.set(root, frontier[0]!);
  for (let hop = 0; hop < depth && frontier.length > 0; hop++) {
    const next: LineageNode[] = [];
    const visit = (node: LineageNode): void => {
      if (nodes.has(node.id)) return;
      nodes.set(node.id, node);
      next.push(node);
    };
    for (const node of frontier) {
      if (node.kind === 'artifact') {
        if (node.version.producedBy) {
          const run = await getRun(store, node.version.producedBy);
          addEdge({ from: runNodeId(run.id), to: node.id, relation: 'produced' });
          visit({ kind: 'run', id: runNodeId(run.id), run });
        }
        for (const run of await versionConsumers(store, keyOf(node.version))) {
          addEdge({ from: node.id, to: runNodeId(run.id), relation: 'used' });
          visit({ kind: 'run', id: runNodeId(run.id), run });
        }
        for (const registryVersion of await linksOfVersion(store, keyOf(node.version))) {
          addEdge({ from: node.id, to: linkNodeId(registryVersion.linkId), relation: 'linked' });
          visit({ kind: 'registry', id: linkNodeId(registryVersion.linkId), registryVersion });
        }
      } else if (node.kind === 'registry') {
        const source = node.registryVersion.source;
        addEdge({ from: versionNodeId(source.id), to: node.id, relation: 'linked' });
        visit({ kind: 'artifact', id: versionNodeId(source.id), version: source });
        for (const run of await registryConsumers(store, keyOf(node.registryVersion))) {
          addEdge({ from: node.id, to: runNodeId(run.id), relation: 'used' });
          visit({ kind: 'run', id: runNodeId(run.id), run });
        }
      } else {
        for (const registryVersion of await registryInputs(store, node.run.id)) {
          addEdge({ from: linkNodeId(registryVersion.linkId), to: node.id, relation: 'used' });
          visit({ kind: 'registry', id: linkNodeId(registryVersion.linkId), registryVersion });
        }
        for (const version of await runInputs(store, node.run.id)) {
          addEdge({ from: versionNodeId(version.id), to: node.id, relation: 'used' });
          visit({ kind: 'artifact', id: versionNodeId(version.id), version });
        }
        for (const version of await runOutputs(store, node.run.id)) {
          addEdge({ from: node.id, to: versionNodeId(version.id), relation: 'produced' });
          visit({ kind: 'artifact', id: versionNodeId(version.id), version });
        }
      }
    }
    frontier = next;
  }
  return { root, nodes: [...nodes.values()], edges: [...edges.values()] };
}
