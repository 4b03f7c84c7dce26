/**
 * The lineage graph's pure logic: folding big sibling groups into cluster nodes, and laying the
 * result out left→right with dagre. No React, no DOM: unit-testable on synthetic graphs.
 *
 * Folding: every node but the root gets a "parent", the neighbour through which a breadth-first
 * walk from the root first reached it, and a direction (downstream: parent → node; upstream:
 * node → parent). Nodes of one kind with the same parent and direction sit on the same rank next
 * to each other; when there are {@link CLUSTER_MIN} or more of them they fold into one cluster
 * node (unless the cluster's id is in `expanded`). What lies beyond a folded node (further from the
 * root) folds with it. Edges of folded nodes are re-pointed to their cluster and merged (with a
 * count), so every remaining node keeps its connections.
 */
import dagre from '@dagrejs/dagre';
import type { LineageEdge, LineageGraph, LineageNode } from '@quiver/core';

export const CLUSTER_MIN = 5;

export type Relation = LineageEdge['relation'];
export type NodeKind = LineageNode['kind'];

export interface EntityViewNode {
  kind: NodeKind;
  id: string;
  /** What the node shows as its name (also `data-label`). */
  label: string;
  root: boolean;
  node: LineageNode;
}

export interface ClusterViewNode {
  kind: 'cluster';
  id: string;
  label: string;
  /** A second line: the version range, or the runs' job types. */
  detail: string;
  root: false;
  memberKind: NodeKind;
  members: string[];
}

export type ViewNode = EntityViewNode | ClusterViewNode;

export interface ViewEdge {
  id: string;
  from: string;
  to: string;
  relation: Relation;
  /** How many graph edges this one stands for (more than 1 at clusters). */
  count: number;
}

export interface ViewGraph {
  root: string;
  nodes: ViewNode[];
  edges: ViewEdge[];
  /** Cluster ids that exist in the unfolded graph (folded or expanded). */
  clusters: string[];
}

/** The name a node shows: run name, `name:vN`, `model:vN`. */
export function nodeLabel(node: LineageNode): string {
  switch (node.kind) {
    case 'run':
      return node.run.name || node.run.id;
    case 'artifact':
      return `${node.version.name}:v${node.version.version}`;
    case 'registry':
      return `${node.registryVersion.model}:v${node.registryVersion.version}`;
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function clusterText(members: LineageNode[], kind: NodeKind): { label: string; detail: string } {
  const n = members.length;
  if (kind === 'run') {
    const jobs = [...new Set(members.map((m) => (m.kind === 'run' ? m.run.jobType : null)).filter(Boolean))];
    return {
      label: plural(n, 'run', 'runs'),
      detail: jobs.length > 0 ? jobs.slice(0, 3).join(', ') : 'runs',
    };
  }
  const names = new Set<string>();
  const numbers: number[] = [];
  for (const m of members) {
    if (m.kind === 'artifact') {
      names.add(m.version.name);
      numbers.push(m.version.version);
    } else if (m.kind === 'registry') {
      names.add(m.registryVersion.model);
      numbers.push(m.registryVersion.version);
    }
  }
  numbers.sort((a, b) => a - b);
  const range = numbers.length > 0 ? `v${numbers[0]} – v${numbers[numbers.length - 1]}` : '';
  if (names.size === 1) {
    const [name] = names;
    return { label: `${n} versions of ${name}`, detail: range };
  }
  return {
    label: kind === 'registry' ? `${n} registry versions` : `${n} artifact versions`,
    detail: `${names.size} names`,
  };
}

/** Folds sibling groups of `min` or more nodes into clusters, except those in `expanded`. */
export function clusterGraph(
  graph: LineageGraph,
  expanded: ReadonlySet<string> = new Set(),
  min = CLUSTER_MIN,
): ViewGraph {
  const byId = new Map<string, LineageNode>();
  for (const node of graph.nodes) byId.set(node.id, node);
  const edges = graph.edges.filter((e) => byId.has(e.from) && byId.has(e.to));

  // Undirected adjacency, remembering which way each edge points.
  const adjacent = new Map<string, Array<{ other: string; down: boolean }>>();
  const add = (id: string, other: string, down: boolean) => {
    let list = adjacent.get(id);
    if (!list) {
      list = [];
      adjacent.set(id, list);
    }
    list.push({ other, down });
  };
  for (const e of edges) {
    add(e.from, e.to, true);
    add(e.to, e.from, false);
  }

  // Breadth-first from the root: each node's parent and direction.
  const parent = new Map<string, { id: string; down: boolean }>();
  const seen = new Set<string>([graph.root]);
  const queue = [graph.root];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const { other, down } of adjacent.get(id) ?? []) {
      if (seen.has(other)) continue;
      seen.add(other);
      parent.set(other, { id, down });
      queue.push(other);
    }
  }

  // Sibling groups.
  const groups = new Map<string, string[]>();
  for (const node of graph.nodes) {
    const p = parent.get(node.id);
    if (!p || node.id === graph.root) continue;
    const key = `${p.id}|${p.down ? 'down' : 'up'}|${node.kind}`;
    let members = groups.get(key);
    if (!members) {
      members = [];
      groups.set(key, members);
    }
    members.push(node.id);
  }

  // Which groups fold.
  const folded = new Map<string, string>(); // member → cluster id
  const clusters: string[] = [];
  const groupOf = new Map<string, string[]>();
  for (const [key, members] of groups) {
    if (members.length < min) continue;
    const id = `cluster:${key}`;
    clusters.push(id);
    if (expanded.has(id)) continue;
    groupOf.set(id, members);
    for (const m of members) folded.set(m, id);
  }

  // What each node is drawn as: itself, its cluster, or (behind a folded node) its ancestor's cluster.
  const shownAs = new Map<string, string>();
  const hiddenBehind = new Map<string, number>();
  for (const id of queue) {
    const p = parent.get(id);
    const behind = p ? shownAs.get(p.id) : undefined;
    if (p && behind !== undefined && behind !== p.id && behind.startsWith('cluster:')) {
      shownAs.set(id, behind);
      hiddenBehind.set(behind, (hiddenBehind.get(behind) ?? 0) + 1);
    } else shownAs.set(id, folded.get(id) ?? id);
  }

  const nodes: ViewNode[] = [];
  const drawnClusters = new Set<string>();
  for (const node of graph.nodes) {
    const as = shownAs.get(node.id) ?? node.id;
    if (as === node.id) {
      nodes.push({
        kind: node.kind,
        id: node.id,
        label: nodeLabel(node),
        root: node.id === graph.root,
        node,
      });
      continue;
    }
    if (drawnClusters.has(as) || !groupOf.has(as)) continue;
    drawnClusters.add(as);
    const members = groupOf.get(as)!;
    const kind = byId.get(members[0]!)!.kind;
    const text = clusterText(
      members.map((m) => byId.get(m)!),
      kind,
    );
    const more = hiddenBehind.get(as) ?? 0;
    const detail = more > 0 ? `${text.detail} · +${more} more` : text.detail;
    nodes.push({
      kind: 'cluster',
      id: as,
      label: text.label,
      detail,
      root: false,
      memberKind: kind,
      members,
    });
  }

  const shown = (id: string) => shownAs.get(id) ?? id;
  const merged = new Map<string, ViewEdge>();
  for (const e of edges) {
    const from = shown(e.from);
    const to = shown(e.to);
    if (from === to) continue;
    const id = `${from}→${to}:${e.relation}`;
    const existing = merged.get(id);
    if (existing) existing.count++;
    else merged.set(id, { id, from, to, relation: e.relation, count: 1 });
  }
  return { root: graph.root, nodes, edges: [...merged.values()], clusters };
}

// ---- layout -----------------------------------------------------------------------------

export interface Point {
  x: number;
  y: number;
}

export type PlacedNode = ViewNode & { x: number; y: number; width: number; height: number };
export type PlacedEdge = ViewEdge & { points: Point[] };

export interface PlacedGraph {
  root: string;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

/** Roughly how wide a label is at the graph's font size (no DOM measuring: layout is pure). */
export const textWidth = (text: string, px = 13) => text.length * px * 0.6;

/** The chips a node shows under its label (aliases). */
export function nodeChips(node: ViewNode): string[] {
  if (node.kind === 'artifact' && node.node.kind === 'artifact') return node.node.version.aliases;
  if (node.kind === 'registry' && node.node.kind === 'registry') return node.node.registryVersion.aliases;
  return [];
}

/** A node's box: wide enough for its label and chips, within bounds. */
export function nodeSize(node: ViewNode): { width: number; height: number } {
  const base = node.kind === 'run' ? 72 : node.kind === 'cluster' ? 76 : 40;
  const chips = nodeChips(node).reduce((sum, chip) => sum + textWidth(chip, 10) + 16, 0);
  const detail = node.kind === 'cluster' ? textWidth(node.detail, 11) : 0;
  const content = Math.max(textWidth(node.label, 13), chips, detail);
  const width = Math.round(Math.min(340, Math.max(168, base + content)));
  const height = node.kind === 'run' ? 48 : node.kind === 'cluster' ? 56 : 64;
  return { width, height };
}

/** Lays the view graph out left→right (dagre): node centres and edge polylines. */
export function layoutGraph(view: ViewGraph): PlacedGraph {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 72, edgesep: 10, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  const sizes = new Map<string, { width: number; height: number }>();
  for (const node of view.nodes) {
    const size = nodeSize(node);
    sizes.set(node.id, size);
    g.setNode(node.id, { ...size });
  }
  for (const edge of view.edges) g.setEdge(edge.from, edge.to, {}, edge.id);
  dagre.layout(g);

  const nodes: PlacedNode[] = view.nodes.map((node) => {
    const placed = g.node(node.id) as { x: number; y: number };
    const size = sizes.get(node.id)!;
    return { ...node, x: placed.x, y: placed.y, ...size };
  });
  const edges: PlacedEdge[] = view.edges.map((edge) => {
    const label = g.edge({ v: edge.from, w: edge.to, name: edge.id }) as { points?: Point[] } | undefined;
    return { ...edge, points: label?.points ?? [] };
  });
  const info = g.graph() as { width?: number; height?: number };
  return { root: view.root, nodes, edges, width: info.width ?? 0, height: info.height ?? 0 };
}

/** An SVG path through dagre's points: straight ends, smoothed corners. */
export function edgePath(points: readonly Point[]): string {
  if (points.length === 0) return '';
  const first = points[0]!;
  if (points.length === 1) return `M${first.x},${first.y}`;
  let d = `M${first.x.toFixed(1)},${first.y.toFixed(1)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!;
    const next = points[i + 1]!;
    const mx = (p.x + next.x) / 2;
    const my = (p.y + next.y) / 2;
    d += ` Q${p.x.toFixed(1)},${p.y.toFixed(1)} ${mx.toFixed(1)},${my.toFixed(1)}`;
  }
  const last = points[points.length - 1]!;
  d += ` L${last.x.toFixed(1)},${last.y.toFixed(1)}`;
  return d;
}

/** The transform that fits a `width`×`height` graph into a viewport, never zooming past `maxScale`. */
export function fitTransform(
  graph: { width: number; height: number },
  viewport: { width: number; height: number },
  padding = 24,
  maxScale = 1,
): { x: number; y: number; k: number } {
  if (graph.width <= 0 || graph.height <= 0 || viewport.width <= 0 || viewport.height <= 0)
    return { x: 0, y: 0, k: 1 };
  const k = Math.max(
    0.03,
    Math.min(
      maxScale,
      (viewport.width - 2 * padding) / graph.width,
      (viewport.height - 2 * padding) / graph.height,
    ),
  );
  return { k, x: (viewport.width - graph.width * k) / 2, y: (viewport.height - graph.height * k) / 2 };
}
