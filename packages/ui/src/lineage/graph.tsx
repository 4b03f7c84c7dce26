/**
 * Draws a laid-out lineage graph as SVG: runs as pills with a play glyph in their state's
 * colour, artifact versions as cards (type, `name:vN`, aliases), registry versions as cards with
 * a registry band, clusters as stacked cards. Pan by dragging, zoom with the wheel, "Fit" to see
 * everything. The transform is applied straight to the DOM (no React render per frame); nodes
 * and edges render once per layout.
 */
import { memo, type ReactNode, useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import {
  type ClusterViewNode,
  type EntityViewNode,
  edgePath,
  fitTransform,
  type PlacedEdge,
  type PlacedGraph,
  type PlacedNode,
  textWidth,
} from './layout';
import './lineage.css';

interface Transform {
  x: number;
  y: number;
  k: number;
}

const MIN_SCALE = 0.03;
const MAX_SCALE = 3;
/** Unfolding a cluster zooms out at most to this scale. */
const READABLE_SCALE = 0.45;

export interface LineageGraphViewProps {
  graph: PlacedGraph;
  /** Where a click on a node goes (undefined: nowhere). */
  hrefOf: (node: EntityViewNode) => string | undefined;
  navigate: (href: string) => void;
  /** A cluster was clicked: unfold it. */
  onExpand: (cluster: ClusterViewNode) => void;
  /** Called once the graph of each layout is on screen. */
  onDrawn?: () => void;
  /** More buttons for the toolbar. */
  actions?: ReactNode;
}

export function LineageGraphView(props: LineageGraphViewProps) {
  const { graph, onDrawn } = props;
  const svgRef = useRef<SVGSVGElement>(null);
  const layerRef = useRef<SVGGElement>(null);
  const transform = useRef<Transform>({ x: 0, y: 0, k: 1 });
  const drag = useRef<{ x: number; y: number; x0: number; y0: number; id: number; moved: boolean } | null>(
    null,
  );
  const suppressClick = useRef(false);
  /** Set when a cluster is expanded: keep its members where the cluster was on screen. */
  const anchor = useRef<{ members: string[]; sx: number; sy: number } | null>(null);
  const lastGraph = useRef<PlacedGraph | null>(null);

  const apply = useCallback(() => {
    const t = transform.current;
    layerRef.current?.setAttribute(
      'transform',
      `translate(${t.x.toFixed(2)},${t.y.toFixed(2)}) scale(${t.k.toFixed(4)})`,
    );
  }, []);

  const viewport = useCallback(() => {
    const rect = svgRef.current?.getBoundingClientRect();
    return { width: rect?.width ?? 0, height: rect?.height ?? 0 };
  }, []);

  const fit = useCallback(() => {
    transform.current = fitTransform(graph, viewport());
    apply();
  }, [graph, apply, viewport]);

  const zoomBy = useCallback(
    (factor: number, cx?: number, cy?: number) => {
      const t = transform.current;
      const vp = viewport();
      const px = cx ?? vp.width / 2;
      const py = cy ?? vp.height / 2;
      const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, t.k * factor));
      const ratio = k / t.k;
      transform.current = { k, x: px - (px - t.x) * ratio, y: py - (py - t.y) * ratio };
      apply();
    },
    [apply, viewport],
  );

  // A new layout: either keep an expanded cluster's members in place, or fit the whole graph.
  useLayoutEffect(() => {
    const previous = lastGraph.current;
    lastGraph.current = graph;
    const a = anchor.current;
    anchor.current = null;
    if (previous && a) {
      const members = graph.nodes.filter((n) => a.members.includes(n.id));
      if (members.length > 0) {
        // Zoom out as far as needed to show every unfolded member, keep their centre where the
        // cluster was, then shift just enough to bring them into view.
        const x0 = Math.min(...members.map((n) => n.x - n.width / 2));
        const x1 = Math.max(...members.map((n) => n.x + n.width / 2));
        const y0 = Math.min(...members.map((n) => n.y - n.height / 2));
        const y1 = Math.max(...members.map((n) => n.y + n.height / 2));
        const vp = viewport();
        const pad = 24;
        // ... but not below a readable scale (a big group then fills the view around its centre).
        const fitK = Math.min((vp.width - 2 * pad) / (x1 - x0), (vp.height - 2 * pad) / (y1 - y0));
        const k = Math.max(MIN_SCALE, Math.min(transform.current.k, Math.max(READABLE_SCALE, fitK)));
        const cx = (x0 + x1) / 2;
        const cy = (y0 + y1) / 2;
        let x = a.sx - cx * k;
        let y = a.sy - cy * k;
        const shift = (low: number, high: number, size: number) =>
          high - low > size - 2 * pad
            ? size / 2 - (low + high) / 2
            : low < pad
              ? pad - low
              : high > size - pad
                ? size - pad - high
                : 0;
        x += shift(x + x0 * k, x + x1 * k, vp.width);
        y += shift(y + y0 * k, y + y1 * k, vp.height);
        transform.current = { k, x, y };
        apply();
        return;
      }
    }
    fit();
  }, [graph, fit, apply, viewport]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: once per layout drawn.
  useEffect(() => {
    if (!onDrawn) return;
    const frame = requestAnimationFrame(() => onDrawn());
    return () => cancelAnimationFrame(frame);
  }, [graph, onDrawn]);

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const rect = svg.getBoundingClientRect();
      const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      zoomBy(Math.exp(-delta * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
    };
    svg.addEventListener('wheel', onWheel, { passive: false });
    return () => svg.removeEventListener('wheel', onWheel);
  }, [zoomBy]);

  const onPointerDown = (event: React.PointerEvent<SVGSVGElement>) => {
    if (event.button !== 0) return;
    const t = transform.current;
    drag.current = {
      x: event.clientX,
      y: event.clientY,
      x0: t.x,
      y0: t.y,
      id: event.pointerId,
      moved: false,
    };
  };
  const onPointerMove = (event: React.PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (!d) return;
    const dx = event.clientX - d.x;
    const dy = event.clientY - d.y;
    if (!d.moved) {
      if (Math.hypot(dx, dy) < 4) return;
      d.moved = true;
      svgRef.current?.setPointerCapture(d.id);
      svgRef.current?.classList.add('dragging');
    }
    transform.current = { ...transform.current, x: d.x0 + dx, y: d.y0 + dy };
    apply();
  };
  const onPointerUp = () => {
    const d = drag.current;
    drag.current = null;
    if (d?.moved) {
      svgRef.current?.classList.remove('dragging');
      suppressClick.current = true;
      setTimeout(() => {
        suppressClick.current = false;
      }, 0);
    }
  };

  const { hrefOf, navigate, onExpand } = props;
  const activate = useCallback(
    (node: PlacedNode) => {
      if (suppressClick.current) return;
      if (node.kind === 'cluster') {
        const t = transform.current;
        anchor.current = { members: node.members, sx: t.x + node.x * t.k, sy: t.y + node.y * t.k };
        onExpand(node);
        return;
      }
      const href = hrefOf(node);
      if (href) navigate(href);
    },
    [hrefOf, navigate, onExpand],
  );

  return (
    <div className="lg-viewport">
      <svg
        ref={svgRef}
        className="lg-svg"
        aria-label="Lineage graph"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
      >
        <Markers />
        <g ref={layerRef}>
          <Layer graph={graph} hrefOf={hrefOf} activate={activate} />
        </g>
      </svg>
      <div className="lg-toolbar">
        {props.actions}
        <button type="button" className="button small" aria-label="Zoom in" onClick={() => zoomBy(1.25)}>
          +
        </button>
        <button type="button" className="button small" aria-label="Zoom out" onClick={() => zoomBy(0.8)}>
          −
        </button>
        <button type="button" className="button small" onClick={fit}>
          Fit
        </button>
      </div>
      <Legend />
    </div>
  );
}

function Markers() {
  return (
    <defs>
      {(['produced', 'used', 'linked'] as const).map((relation) => (
        <marker
          key={relation}
          id={`lg-arrow-${relation}`}
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" className={`lg-arrow lg-rel-${relation}`} />
        </marker>
      ))}
    </defs>
  );
}

function Legend() {
  return (
    <ul className="lg-legend" aria-label="Legend">
      <li>
        <svg width="28" height="8" aria-hidden="true">
          <line x1="0" y1="4" x2="28" y2="4" className="lg-edge lg-rel-produced" />
        </svg>
        produced
      </li>
      <li>
        <svg width="28" height="8" aria-hidden="true">
          <line x1="0" y1="4" x2="28" y2="4" className="lg-edge lg-rel-used" />
        </svg>
        used
      </li>
      <li>
        <svg width="28" height="8" aria-hidden="true">
          <line x1="0" y1="4" x2="28" y2="4" className="lg-edge lg-rel-linked" />
        </svg>
        linked
      </li>
    </ul>
  );
}

const Layer = memo(function Layer(props: {
  graph: PlacedGraph;
  hrefOf: (node: EntityViewNode) => string | undefined;
  activate: (node: PlacedNode) => void;
}) {
  const { graph } = props;
  const labelled = graph.edges.length <= 60;
  return (
    <>
      <g className="lg-edges">
        {graph.edges.map((edge) => (
          <Edge key={edge.id} edge={edge} labelled={labelled} />
        ))}
      </g>
      <g className="lg-nodes">
        {graph.nodes.map((node) => (
          <NodeView
            key={node.id}
            node={node}
            href={node.kind === 'cluster' ? undefined : props.hrefOf(node)}
            activate={props.activate}
          />
        ))}
      </g>
    </>
  );
});

function Edge(props: { edge: PlacedEdge; labelled: boolean }) {
  const { edge } = props;
  const first = edge.points[0];
  const last = edge.points[edge.points.length - 1];
  const mid = first && last ? { x: (first.x + last.x) / 2, y: (first.y + last.y) / 2 } : undefined;
  const text = edge.count > 1 ? `${edge.relation} ×${edge.count}` : edge.relation;
  return (
    <g data-testid="lineage-edge" data-relation={edge.relation} data-from={edge.from} data-to={edge.to}>
      <title>{text}</title>
      <path
        d={edgePath(edge.points)}
        className={`lg-edge lg-rel-${edge.relation}`}
        markerEnd={`url(#lg-arrow-${edge.relation})`}
      />
      {props.labelled && mid && (
        <text x={mid.x} y={mid.y - 4} className="lg-edge-label" textAnchor="middle">
          {text}
        </text>
      )}
    </g>
  );
}

function fitText(text: string, width: number, px: number): string {
  const max = Math.floor(width / (px * 0.6));
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

function Chips(props: { items: string[]; x: number; y: number; width: number }) {
  let x = props.x;
  const out: ReactNode[] = [];
  for (const item of props.items) {
    const w = textWidth(item, 10) + 12;
    if (x + w > props.x + props.width) {
      out.push(
        <text key="more" x={x} y={props.y + 11} className="lg-sub">
          …
        </text>,
      );
      break;
    }
    out.push(
      <g key={item} transform={`translate(${x},${props.y})`}>
        <rect width={w} height={15} rx={7.5} className="lg-chip" />
        <text x={w / 2} y={11} textAnchor="middle" className="lg-chip-text">
          {item}
        </text>
      </g>,
    );
    x += w + 4;
  }
  return <>{out}</>;
}

function NodeBody(props: { node: PlacedNode }) {
  const { node } = props;
  const { width: w, height: h } = node;
  if (node.kind === 'cluster') {
    return (
      <>
        <rect x={8} y={8} width={w - 8} height={h - 8} rx={6} className="lg-cluster-back" />
        <rect x={4} y={4} width={w - 8} height={h - 8} rx={6} className="lg-cluster-back" />
        <rect width={w - 8} height={h - 8} rx={6} className="lg-box lg-cluster-box" />
        <text x={12} y={20} className="lg-title">
          {fitText(node.label, w - 48, 13)}
        </text>
        <text x={12} y={36} className="lg-sub">
          {fitText(node.detail, w - 48, 11)}
        </text>
        <circle cx={w - 26} cy={(h - 8) / 2} r={9} className="lg-expand" />
        <path
          d={`M${w - 30},${(h - 8) / 2} h8 M${w - 26},${(h - 8) / 2 - 4} v8`}
          className="lg-expand-plus"
        />
      </>
    );
  }
  if (node.kind === 'run') {
    const run = node.node.kind === 'run' ? node.node.run : undefined;
    const state = run?.state ?? 'finished';
    return (
      <>
        <rect width={w} height={h} rx={h / 2} className={`lg-box lg-run lg-state-${state}`} />
        <circle cx={h / 2} cy={h / 2} r={14} className={`lg-glyph-bg lg-state-${state}`} />
        <path
          d={`M${h / 2 - 4},${h / 2 - 7} L${h / 2 + 7},${h / 2} L${h / 2 - 4},${h / 2 + 7} Z`}
          className={`lg-glyph lg-state-${state}`}
        />
        <text x={h + 2} y={20} className="lg-title">
          {fitText(node.label, w - h - 16, 13)}
        </text>
        <text x={h + 2} y={36} className="lg-sub">
          {fitText(`${run?.jobType ?? 'run'} · ${state}`, w - h - 16, 11)}
        </text>
      </>
    );
  }
  if (node.node.kind === 'registry') {
    const rv = node.node.registryVersion;
    return (
      <>
        <rect width={w} height={h} rx={6} className="lg-box lg-registry" />
        <rect width={w} height={18} rx={6} className="lg-registry-band" />
        <rect y={12} width={w} height={6} className="lg-registry-band" />
        <text x={12} y={13} className="lg-kicker lg-kicker-registry">
          {fitText(`REGISTRY · ${rv.registry}`, w - 24, 10)}
        </text>
        <text x={12} y={35} className="lg-title lg-mono">
          {fitText(node.label, w - 24, 13)}
        </text>
        <Chips items={rv.aliases} x={12} y={43} width={w - 24} />
      </>
    );
  }
  const version = node.node.kind === 'artifact' ? node.node.version : undefined;
  return (
    <>
      <rect width={w} height={h} rx={6} className="lg-box lg-artifact" />
      <rect width={4} height={h - 12} x={0} y={6} rx={2} className="lg-artifact-strip" />
      <text x={14} y={17} className="lg-kicker">
        {fitText((version?.type ?? 'artifact').toUpperCase(), w - 28, 10)}
      </text>
      <text x={14} y={35} className="lg-title lg-mono">
        {fitText(node.label, w - 28, 13)}
      </text>
      <Chips items={version?.aliases ?? []} x={14} y={43} width={w - 28} />
    </>
  );
}

function NodeView(props: {
  node: PlacedNode;
  href: string | undefined;
  activate: (node: PlacedNode) => void;
}) {
  const { node, href, activate } = props;
  const x = node.x - node.width / 2;
  const y = node.y - node.height / 2;
  const common = {
    'data-testid': 'lineage-node',
    'data-kind': node.kind,
    'data-label': node.label,
    'data-root': node.root ? 'true' : undefined,
    'data-id': node.id,
    transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
    className: `lg-node lg-node-${node.kind}${node.root ? ' lg-node-root' : ''}`,
  };
  const body = (
    <>
      <title>{node.kind === 'cluster' ? `${node.label} — click to expand` : node.label}</title>
      {node.root && (
        <rect
          x={-5}
          y={-5}
          width={node.width + 10}
          height={node.height + 10}
          rx={node.kind === 'run' ? node.height / 2 + 5 : 10}
          className="lg-root-ring"
        />
      )}
      <NodeBody node={node} />
    </>
  );
  if (node.kind === 'cluster')
    return (
      // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>; it acts as one.
      <g
        {...common}
        role="button"
        tabIndex={0}
        aria-label={`${node.label}: expand`}
        onClick={() => activate(node)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            activate(node);
          }
        }}
      >
        {body}
      </g>
    );
  if (!href) return <g {...common}>{body}</g>;
  return (
    <a
      {...common}
      href={href}
      aria-label={node.label}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        activate(node);
      }}
    >
      {body}
    </a>
  );
}
