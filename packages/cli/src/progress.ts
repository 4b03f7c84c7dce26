import cliProgress from 'cli-progress';
import { formatBytes } from './output.js';

/** Below this many bytes a transfer is quick enough that a bar would only flicker. */
const BAR_MIN_BYTES = 64 * 1024 * 1024;

/** A byte progress bar on stderr for large transfers in a terminal; silent otherwise. */
export function byteProgress(
  label: string,
  enabled: boolean,
): { update(progress: { bytesDone: number; bytesTotal: number }): void; stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  return {
    update({ bytesDone, bytesTotal }) {
      if (!enabled || !process.stderr.isTTY || bytesTotal < BAR_MIN_BYTES) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${label} [{bar}] {percentage}% | {done} / {total} | {eta_formatted}`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(bytesTotal, 0, { done: formatBytes(0), total: formatBytes(bytesTotal) });
      }
      bar.update(bytesDone, { done: formatBytes(bytesDone), total: formatBytes(bytesTotal) });
    },
    stop() {
      bar?.stop();
    },
  };
}
