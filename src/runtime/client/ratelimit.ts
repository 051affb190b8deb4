/**
 * Client-side request budget, like client-go's `--kube-api-qps` / `--kube-api-burst`:
 * a token bucket refilled at `qps` per second holding at most `burst` tokens.
 * A qps of 0 or less means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = Math.max(1, burst);
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(Math.max(1, this.burst), this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
  }

  take(): Promise<void> {
    if (this.qps <= 0) return Promise.resolve();
    this.refill();
    if (this.tokens >= 1 && this.waiters.length === 0) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer) return;
    const waitMs = Math.max(1, ((1 - this.tokens) / this.qps) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.tokens >= 1 && this.waiters.length) {
        this.tokens -= 1;
        this.waiters.shift()?.();
      }
      if (this.waiters.length) this.schedule();
    }, waitMs);
    this.timer.unref?.();
  }
}
