/** Time source of the limiter, replaceable so the limiter is tested without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Token bucket: `ratePerSecond` tokens flow in continuously up to `capacity`; `take(n)` waits until n are there.
 * The bucket starts full, so the first `capacity` records go out at once and the average rate never exceeds
 * `ratePerSecond` over any window longer than capacity / rate seconds.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new Error(`rate must be a positive number, got ${ratePerSecond}`);
    }
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`capacity must be a positive integer, got ${capacity}`);
    this.tokens = capacity;
    this.last = clock.now();
  }

  async take(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 1 || n > this.capacity) {
      throw new Error(`can take 1..${this.capacity} tokens at once, asked for ${n}`);
    }
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
      if (this.tokens >= n) {
        this.tokens -= n;
        return;
      }
      await this.clock.sleep(Math.ceil(((n - this.tokens) * 1000) / this.ratePerSecond));
    }
  }
}
