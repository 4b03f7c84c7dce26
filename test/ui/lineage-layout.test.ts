import type { ArtifactVersionInfo, LineageGraph, RunInfo } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { clusterGraph, layoutGraph } from '../../packages/ui/src/lineage/layout.ts';

// The lineage page's folding and layout, as pure functions: a dataset version, the run that
// made it, and 99 runs that used it, each making a model — 200 nodes.
const run = (id: string, jobType: string): RunInfo =>
  ({
    id,
    entity: 'e',
    project: 'p',
    name: `run-${id}`,
    jobType,
    state: 'finished',
    tags: [],
  }) as unknown as RunInfo;
const version = (name: string, n = 0): ArtifactVersionInfo =>
  ({
    id: `${name}-${n}`,
    entity: 'e',
    project: 'p',
    name,
    type: 'model',
    version: n,
    aliases: [],
    ref: `e/p/${name}:v${n}`,
  }) as unknown as ArtifactVersionInfo;

function star(users: number): LineageGraph {
  const graph: LineageGraph = {
    root: 'artifact:data',
    nodes: [
      { kind: 'artifact', id: 'artifact:data', version: version('data') },
      { kind: 'run', id: 'run:maker', run: run('maker', 'prepare') },
    ],
    edges: [{ from: 'run:maker', to: 'artifact:data', relation: 'produced' }],
  };
  for (let i = 0; i < users; i++) {
    graph.nodes.push({ kind: 'run', id: `run:${i}`, run: run(String(i), 'train') });
    graph.nodes.push({ kind: 'artifact', id: `artifact:m${i}`, version: version(`model-${i}`) });
    graph.edges.push({ from: 'artifact:data', to: `run:${i}`, relation: 'used' });
    graph.edges.push({ from: `run:${i}`, to: `artifact:m${i}`, relation: 'produced' });
  }
  return graph;
}

describe('the lineage layout', () => {
  it('folds a level of five or more siblings into one cluster, and keeps smaller ones', () => {
    const folded = clusterGraph(star(99));
    const clusters = folded.nodes.filter((node) => node.kind === 'cluster');
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.label).toContain('99');
    // The root, its maker and the cluster (the models behind the runs fold with them).
    expect(
      folded.nodes
        .filter((node) => node.kind !== 'cluster')
        .map((node) => node.id)
        .sort(),
    ).toEqual(['artifact:data', 'run:maker']);
    const few = clusterGraph(star(4));
    expect(few.nodes.some((node) => node.kind === 'cluster')).toBe(false);
    expect(few.nodes).toHaveLength(2 + 8);
  });

  it('opens a cluster in place, and lays out all 200 nodes without overlaps', () => {
    const graph = star(99);
    const first = clusterGraph(graph);
    const opened = clusterGraph(graph, new Set(first.clusters));
    expect(opened.nodes.filter((node) => node.kind === 'run')).toHaveLength(100);
    const all = clusterGraph(graph, new Set(), Number.POSITIVE_INFINITY);
    expect(all.nodes).toHaveLength(200);
    expect(all.edges).toHaveLength(199);
    const placed = layoutGraph(all);
    expect(placed.nodes).toHaveLength(200);
    // Left to right: the maker, then the root, then the runs, then their models.
    const x = (id: string) => placed.nodes.find((node) => node.id === id)!.x;
    expect(x('run:maker')).toBeLessThan(x('artifact:data'));
    expect(x('artifact:data')).toBeLessThan(x('run:0'));
    expect(x('run:0')).toBeLessThan(x('artifact:m0'));
    const boxes = placed.nodes.map((node) => ({
      ...node,
      left: node.x - node.width / 2,
      top: node.y - node.height / 2,
    }));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap =
          a.left < b.left + b.width &&
          b.left < a.left + a.width &&
          a.top < b.top + b.height &&
          b.top < a.top + a.height;
        expect(overlap, `${a.id} overlaps ${b.id}`).toBe(false);
      }
  });
});
