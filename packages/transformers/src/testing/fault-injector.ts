/**
 * Faults tests inject into the stand-in: answer an error, cut the connection, or hold a
 * request. Each fault applies to the next `count` requests its matcher accepts.
 */
import type {
  DelayHandle,
  DelayOptions,
  DropOptions,
  FailOptions,
  HubRequestInfo,
  RequestMatcher,
} from './hub-types.js';

interface Counted {
  remaining: number;
  match: RequestMatcher | undefined;
}

interface Delay extends Counted {
  ms: number;
  released: boolean;
  waiting: Set<() => void>;
  reached: (request: HubRequestInfo) => void;
}

/** The faults that apply to one request (each already counted down). */
export interface AppliedFaults {
  fail?: FailOptions;
  drop?: Required<Pick<DropOptions, 'when'>>;
  /** Resolves when the request may go on. */
  delay?: () => Promise<void>;
}

export class FaultInjector {
  readonly #fails: (FailOptions & Counted)[] = [];
  readonly #drops: (DropOptions & Counted)[] = [];
  readonly #delays: Delay[] = [];

  failNext(options: FailOptions): void {
    this.#fails.push({ ...options, remaining: options.count ?? 1, match: options.match });
  }

  dropNext(options: DropOptions = {}): void {
    this.#drops.push({ ...options, remaining: options.count ?? 1, match: options.match });
  }

  delay(options: DelayOptions): DelayHandle {
    let reached!: (request: HubRequestInfo) => void;
    const reachedPromise = new Promise<HubRequestInfo>((resolve) => {
      reached = resolve;
    });
    const delay: Delay = {
      ms: options.ms,
      remaining: options.count ?? Number.POSITIVE_INFINITY,
      match: options.match,
      released: false,
      waiting: new Set(),
      reached,
    };
    this.#delays.push(delay);
    return { reached: reachedPromise, release: () => release(delay) };
  }

  /** Forgets every pending fault and lets held requests go. */
  clear(): void {
    for (const delay of this.#delays) release(delay);
    this.#fails.length = 0;
    this.#drops.length = 0;
    this.#delays.length = 0;
  }

  /** Takes (counts down) the faults that apply to a request. */
  take(request: HubRequestInfo): AppliedFaults {
    const applied: AppliedFaults = {};
    const drop = takeFirst(this.#drops, request);
    if (drop) applied.drop = { when: drop.when ?? 'request' };
    const fail = takeFirst(this.#fails, request);
    if (fail) applied.fail = fail;
    const delay = takeFirst(this.#delays, request);
    if (delay && !delay.released) applied.delay = () => hold(delay, request);
    return applied;
  }
}

function takeFirst<T extends Counted>(faults: T[], request: HubRequestInfo): T | undefined {
  const index = faults.findIndex((fault) => fault.remaining > 0 && matches(fault.match, request));
  const fault = faults[index];
  if (!fault) return undefined;
  fault.remaining -= 1;
  if (fault.remaining <= 0) faults.splice(index, 1);
  return fault;
}

export function matches(matcher: RequestMatcher | undefined, request: HubRequestInfo): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'function') return matcher(request);
  if (matcher.method !== undefined && matcher.method.toUpperCase() !== request.method) return false;
  if (matcher.endpoint !== undefined && ![matcher.endpoint].flat().includes(request.endpoint)) return false;
  if (matcher.repo !== undefined && matcher.repo !== request.repo) return false;
  if (typeof matcher.path === 'string') return request.path.includes(matcher.path);
  return matcher.path === undefined || matcher.path.test(request.path);
}

function hold(delay: Delay, request: HubRequestInfo): Promise<void> {
  delay.reached(request);
  if (delay.released) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      delay.waiting.delete(done);
      resolve();
    };
    const timer = setTimeout(done, delay.ms);
    timer.unref();
    delay.waiting.add(done);
  });
}

function release(delay: Delay): void {
  delay.released = true;
  delay.remaining = 0;
  for (const done of [...delay.waiting]) done();
}
