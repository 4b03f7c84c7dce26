/**
 * A grid of small metric charts (one per key) and the helpers the run and compare pages share:
 * how many points to ask the server for, and readiness once every chart has drawn.
 */
import { useEffect, useMemo, useRef } from 'react';
import { type ChartLine, LineChart } from './line-chart';

export const CHART_MIN_WIDTH = 340;
const GRID_GAP = 16;

/**
 * About one point per pixel of a chart's width (charts are laid out `auto-fill, minmax(340px, 1fr)`
 * in the page's content column), so the server downsamples to what can be drawn.
 */
export function chartPoints(): number {
  if (typeof window === 'undefined') return 600;
  // The content column is at most 1280px wide with 24px padding; the card body pads 16px.
  const width = Math.min(1280, window.innerWidth) - 48 - 32 - 2;
  const columns = Math.max(1, Math.floor((width + GRID_GAP) / (CHART_MIN_WIDTH + GRID_GAP)));
  const chart = (width - (columns - 1) * GRID_GAP) / columns;
  return Math.max(200, Math.min(2000, Math.round(chart)));
}

export interface MetricChartSpec {
  key: string;
  lines: ChartLine[];
  band: boolean;
}

/** The charts; `onDrawn` is called once when all of them have drawn (at once for none). */
export function MetricsGrid(props: { charts: MetricChartSpec[]; syncKey: string; onDrawn?: () => void }) {
  const { charts, onDrawn } = props;
  // Made during render (a chart may draw before this component's effects run).
  const pending = useMemo(() => new Set(charts.map((c) => c.key)), [charts]);
  const onDrawnRef = useRef(onDrawn);
  onDrawnRef.current = onDrawn;

  useEffect(() => {
    if (charts.length === 0) onDrawnRef.current?.();
  }, [charts]);

  const drawn = (key: string) => {
    const set = pending;
    if (!set.delete(key)) return;
    if (set.size === 0) onDrawnRef.current?.();
  };

  return (
    <div className="chart-grid">
      {charts.map((chart) => (
        <LineChart
          key={chart.key}
          metric={chart.key}
          lines={chart.lines}
          band={chart.band}
          syncKey={props.syncKey}
          onDrawn={() => drawn(chart.key)}
        />
      ))}
    </div>
  );
}
