/**
 * A table that renders only the rows in view: a scroll box of fixed height, rows of one fixed
 * height, spacer rows above and below. Near the end it asks for more (`onEndReached`), so a
 * cursor-paged listing of 10,000+ items loads and renders a window at a time.
 */
import { type ReactNode, useEffect, useRef, useState } from 'react';

export function VirtualTable<T>(props: {
  items: readonly T[];
  /** The `<tr>` of one item; it must not be taller than `rowHeight`. */
  row: (item: T, index: number) => ReactNode;
  rowKey: (item: T, index: number) => string;
  /** The cells of the header row. */
  head: ReactNode;
  columns: number;
  rowHeight?: number;
  /** The scroll box's largest height in pixels. */
  height?: number;
  overscan?: number;
  hasMore?: boolean;
  loading?: boolean;
  onEndReached?: () => void;
  label?: string;
  className?: string;
}) {
  const rowHeight = props.rowHeight ?? 40;
  const height = props.height ?? 560;
  const overscan = props.overscan ?? 8;
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(height);

  useEffect(() => {
    const element = box.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => setViewport(element.clientHeight || height));
    observer.observe(element);
    return () => observer.disconnect();
  }, [height]);

  const count = props.items.length;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  const { hasMore, loading, onEndReached } = props;

  useEffect(() => {
    if (hasMore && !loading && last >= count - overscan) onEndReached?.();
  }, [hasMore, loading, last, count, overscan, onEndReached]);

  const rows: ReactNode[] = [];
  for (let index = first; index < last; index++) rows.push(props.row(props.items[index] as T, index));

  return (
    <div
      ref={box}
      className={`virtual ${props.className ?? ''}`}
      style={{ maxHeight: height, ['--row-h' as string]: `${rowHeight}px` }}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
    >
      <table className="table virtual-table" aria-label={props.label} aria-rowcount={count + 1}>
        <thead>
          <tr>{props.head}</tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr className="spacer" style={{ height: first * rowHeight }}>
              <td colSpan={props.columns} />
            </tr>
          )}
          {rows}
          {last < count && (
            <tr className="spacer" style={{ height: (count - last) * rowHeight }}>
              <td colSpan={props.columns} />
            </tr>
          )}
          {loading && (
            <tr className="status-row">
              <td colSpan={props.columns} className="faint">
                Loading…
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
