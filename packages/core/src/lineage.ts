import { type ArtifactVersionInfo, selectVersions, toVersionInfos } from './artifact-records.js';
import { getRun, type RunInfo } from './run-records.js';
import type { Store } from './store.js';

/** A node of the lineage graph: a run or an artifact version. */
export type LineageNode =
  | { kind: 'run'; id: string; run: RunInfo }
  | { kind: 'artifact'; id: string; version: ArtifactVersionInfo };

/** An edge: a run produced a version, or a version was used by a run. */
export interface LineageEdge {
  from: string;
  to: string;
  relation: 'produced' | 'used';
}

export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

const versionNodeId = (id: number): string => `artifact:${id}`;
const runNodeId = (id: string): string => `run:${id}`;

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
 * Walks lineage both ways from a version or a run for `depth` hops: version ← producing run ←
 * its inputs …, and version → consuming runs → their outputs ….
 */
export async function walkLineage(
  store: Store,
  start: { version: ArtifactVersionInfo } | { runId: string },
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
        for (const run of await versionConsumers(store, node.version.id)) {
          addEdge({ from: node.id, to: runNodeId(run.id), relation: 'used' });
          visit({ kind: 'run', id: runNodeId(run.id), run });
        }
      } else {
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
