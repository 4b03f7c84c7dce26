import { cpus, loadavg } from 'node:os';

/** Where a suite ran, and how busy the machine was around it (other processes skew timings). */
export interface MachineState {
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  /** One-minute load average when the suite started, and when it ended (its own load included). */
  loadAtStart: number;
  loadAtEnd: number;
}

const oneMinuteLoad = (): number => Number((loadavg()[0] ?? 0).toFixed(2));

/** Notes the machine and its load now; call `finish` when the suite is done. */
export function observeMachine(): { loadAtStart: number; finish: () => MachineState } {
  const loadAtStart = oneMinuteLoad();
  const finish = (): MachineState => ({
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus().length,
    loadAtStart,
    loadAtEnd: oneMinuteLoad(),
  });
  return { loadAtStart, finish };
}

/** A warning when other work kept the CPUs more than half busy, or undefined. */
export function busyWarning(load: number, cpuCount = cpus().length): string | undefined {
  if (load <= cpuCount / 2) return undefined;
  return (
    `The machine is busy (load average ${load} on ${cpuCount} CPUs): ` +
    'other processes compete, so figures are noisy.'
  );
}
