/** Runs `callback` on a later turn of the event loop (`setImmediate` in Node; a task in a browser). */
const nextTurn: (callback: () => void) => void =
  typeof setImmediate === 'function' ? setImmediate : (callback) => setTimeout(callback, 0);

/**
 * A serial queue with a bound: jobs run one at a time, in order, off the training loop; when
 * `limit` jobs are waiting, `enqueue` waits for one to finish (back-pressure) instead of letting
 * snapshots pile up in memory.
 */
export class CheckpointQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private readonly slotWaiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Jobs queued or running. */
  get size(): number {
    return this.waiting;
  }

  /** Resolves once the job is queued (not done); waits first while the queue is full. */
  async enqueue(job: () => Promise<void>): Promise<void> {
    while (this.waiting >= this.limit) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.waiting++;
    this.tail = this.tail
      // Start on a later turn of the event loop, so the training step that queued the job goes on first.
      .then(() => new Promise<void>((resolve) => nextTurn(resolve)))
      .then(job)
      .catch(this.onFailure)
      .finally(() => {
        this.waiting--;
        this.slotWaiters.shift()?.();
      });
  }

  /** Resolves when every queued job has finished. */
  async drain(): Promise<void> {
    while (this.waiting > 0) await this.tail;
  }
}
