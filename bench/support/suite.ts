import type { Measurement } from './figures.js';

/** What `bench/<suite>.ts` exports: `run` measures and returns the suite's figures. */
export interface SuiteModule {
  run(): Promise<Measurement[]>;
}

export function isSuiteModule(value: unknown): value is SuiteModule {
  return typeof value === 'object' && value !== null && 'run' in value && typeof value.run === 'function';
}
