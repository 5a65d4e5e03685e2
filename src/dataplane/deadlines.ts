// The per-request timeout without a timer per request. Every prediction of a dataplane gets the same timeout, so
// deadlines fall in the order predictions start: pending predictions form a list in that order, and one timer waits
// for the oldest. A prediction that finishes leaves the list at once; the timer is only re-armed when it fires.
// Under load that is one timer callback per timeout period instead of a setTimeout/clearTimeout pair per request.

/** A prediction whose clock runs. */
export interface Pending {
  deadline: number;
  expire: (err: Error) => void;
  prev: Pending | undefined;
  next: Pending | undefined;
}

export class Deadlines {
  private head: Pending | undefined;
  private tail: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** `ms`: how long a prediction may run; `timeoutError` builds the error an expired one rejects with. */
  constructor(
    private readonly ms: number,
    private readonly timeoutError: () => Error,
  ) {}

  /**
   * Starts the clock of a prediction that started at `start` (performance.now()): `expire` is called with
   * timeoutError() once it has run `ms`, unless settle() came first.
   */
  add(start: number, expire: (err: Error) => void): Pending {
    const entry: Pending = { deadline: 0, expire, prev: undefined, next: undefined };
    this.track(entry, start);
    return entry;
  }

  /** add() for an entry the caller made (e.g. an object it has anyway): its deadline and links are set here. */
  track(entry: Pending, start: number): void {
    entry.deadline = start + this.ms;
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    if (!this.timer) this.arm(this.ms);
    // An idle list leaves the timer unreferenced (see remove); pending work keeps the process alive, as a per-request
    // timer would.
    else if (entry === this.head) this.timer.ref();
  }

  /** The prediction finished: true when it was still pending, false when it had expired already. */
  settle(entry: Pending): boolean {
    return this.remove(entry);
  }

  private remove(entry: Pending): boolean {
    if (entry.prev) entry.prev.next = entry.next;
    else if (this.head === entry) this.head = entry.next;
    else return false; // already expired
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = undefined;
    // Nothing pending: the armed timer may stay (re-arming costs more than a spare wake-up) but must not hold the
    // process open.
    if (!this.head) this.timer?.unref();
    return true;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(delayMs)));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head && this.head.deadline <= now) {
      const entry = this.head;
      this.head = entry.next;
      if (this.head) this.head.prev = undefined;
      else this.tail = undefined;
      entry.next = undefined;
      entry.expire(this.timeoutError());
    }
    if (this.head) this.arm(this.head.deadline - now);
  };
}
