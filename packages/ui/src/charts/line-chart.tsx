/**
 * One metric chart by step, drawn by uPlot on a canvas (no React element per point). One or more
 * lines (a run, or several runs overlaid); a min/max band under a line when its series was
 * downsampled; a legend above the plot that shows the values under the cursor (written straight
 * to the DOM on cursor moves). Cursors of charts with the same `syncKey` move together.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './charts.css';

export interface ChartLine {
  label: string;
  color: string;
  step: number[];
  value: number[];
  /** Bucket minima and maxima (drawn as a band when `band` is set). */
  min?: number[];
  max?: number[];
}

export interface LineChartProps {
  metric: string;
  lines: ChartLine[];
  band: boolean;
  height?: number;
  syncKey?: string;
  /** Called once, when the chart has first drawn. */
  onDrawn?: () => void;
}

/** The colour of series `index` (0-based) from the `--series-N` tokens. */
export function seriesColor(index: number): string {
  const name = `--series-${(index % 8) + 1}`;
  const value =
    typeof document === 'undefined'
      ? ''
      : getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || '#4f46e5';
}

function token(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** `#rrggbb` with an alpha, for band fills. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = Number.parseInt(hex[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** A value as the legend and axes show it: 4 significant digits, k/M for big ones. */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${Number((value / 1e9).toPrecision(3))}G`;
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  if (Number.isInteger(value)) return String(value);
  if (abs !== 0 && abs < 1e-3) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** The index of the point of `steps` (ascending) nearest to `x`. */
export function nearest(steps: number[], x: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(steps[lo - 1]! - x) <= Math.abs(steps[lo]! - x)) return lo - 1;
  return lo;
}

export function LineChart(props: LineChartProps) {
  const plotRef = useRef<HTMLDivElement>(null);
  const legendRef = useRef<HTMLDivElement>(null);
  const onDrawnRef = useRef(props.onDrawn);
  onDrawnRef.current = props.onDrawn;
  const { lines, band, height = 180, syncKey } = props;

  useEffect(() => {
    const host = plotRef.current;
    const legend = legendRef.current;
    if (!host || !legend) return;
    const text2 = token('--text-2', '#5a6472');
    const line = token('--line', '#e2e5ea');
    const font = `11px ${token('--font', 'system-ui')}`;

    // Data: one x column; with one line, its value and (max, min) for the band; with several,
    // each line joined onto the union of their steps (gaps where a line has no point).
    let data: uPlot.AlignedData;
    const series: uPlot.Series[] = [{ label: 'step' }];
    const bands: uPlot.Band[] = [];
    const single = lines.length === 1 ? lines[0] : undefined;
    if (single) {
      const columns: Array<ArrayLike<number | null | undefined>> = [single.step, single.value];
      series.push({
        label: single.label,
        stroke: single.color,
        width: 1.5,
        points: { show: false },
        spanGaps: true,
      });
      if (band && single.min && single.max) {
        columns.push(single.max, single.min);
        series.push(
          { label: 'max', stroke: 'transparent', width: 0, points: { show: false }, spanGaps: true },
          { label: 'min', stroke: 'transparent', width: 0, points: { show: false }, spanGaps: true },
        );
        bands.push({ series: [2, 3], fill: withAlpha(single.color, 0.16) });
      }
      data = columns as uPlot.AlignedData;
    } else {
      data = uPlot.join(lines.map((l) => [l.step, l.value] as uPlot.AlignedData));
      for (const l of lines)
        series.push({ label: l.label, stroke: l.color, width: 1.5, points: { show: false }, spanGaps: true });
    }

    // The legend: the step under the cursor and each line's nearest value.
    legend.replaceChildren();
    const stepEl = document.createElement('span');
    stepEl.className = 'chart-legend-step';
    legend.append(stepEl);
    const valueEls = lines.map((l) => {
      const item = document.createElement('span');
      item.className = 'chart-legend-item';
      const swatch = document.createElement('i');
      swatch.style.background = l.color;
      const name = document.createElement('span');
      name.className = 'chart-legend-name';
      name.textContent = lines.length > 1 ? l.label : '';
      const value = document.createElement('b');
      item.append(swatch, name, value);
      legend.append(item);
      return value;
    });
    const showAt = (x: number | null) => {
      const lastStep = lines.reduce((m, l) => Math.max(m, l.step[l.step.length - 1] ?? 0), 0);
      stepEl.textContent =
        x === null ? `last (step ${lastStep.toLocaleString()})` : `step ${Math.round(x).toLocaleString()}`;
      lines.forEach((l, i) => {
        const idx = x === null ? l.value.length - 1 : nearest(l.step, x);
        const el = valueEls[i]!;
        if (idx < 0) {
          el.textContent = '—';
          return;
        }
        const range =
          band && l.min && l.max ? ` (${formatValue(l.min[idx])} – ${formatValue(l.max[idx])})` : '';
        el.textContent = `${formatValue(l.value[idx])}${range}`;
      });
    };
    showAt(null);

    let drawn = false;
    const axis = (size: number): uPlot.Axis => ({
      stroke: text2,
      font,
      size,
      grid: { stroke: line, width: 1 },
      ticks: { stroke: line, width: 1, size: 4 },
      values: (_u, splits) => splits.map((v) => formatValue(v)),
    });
    const options: uPlot.Options = {
      width: Math.max(120, host.clientWidth),
      height,
      legend: { show: false },
      padding: [8, 8, 0, 0],
      scales: { x: { time: false } },
      axes: [axis(28), axis(48)],
      series,
      bands,
      cursor: {
        ...(syncKey ? { sync: { key: syncKey } } : {}),
        points: { size: 6 },
        drag: { x: true, y: false },
      },
      hooks: {
        draw: [
          () => {
            if (drawn) return;
            drawn = true;
            onDrawnRef.current?.();
          },
        ],
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            const x = idx === null || idx === undefined ? null : (u.data[0][idx] ?? null);
            showAt(x);
          },
        ],
      },
    };
    const plot = new uPlot(options, data, host);
    const observer = new ResizeObserver(() => {
      const width = Math.max(120, host.clientWidth);
      if (Math.abs(width - plot.width) >= 1) plot.setSize({ width, height });
    });
    observer.observe(host);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [lines, band, height, syncKey]);

  return (
    <div className="chart" data-testid="metric-chart" data-key={props.metric}>
      <div className="chart-head">
        <h3 className="chart-title" title={props.metric}>
          {props.metric}
        </h3>
        <div className="chart-legend" ref={legendRef} aria-live="off" />
      </div>
      <div className="chart-plot" ref={plotRef} style={{ height }} />
    </div>
  );
}
