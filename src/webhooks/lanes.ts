/** How long a delivery waits for a lane to its endpoint before it goes back to the queue; an endpoint slower than this is not waited for. */
export const LANE_WAIT_MS = 1_000;

/** Frees a lane; `answered`: a request was made, and its time tells how fast the endpoint answers. */
export type Lane = (answered?: boolean) => void;

/**
 * At most `perEndpoint` requests to one endpoint at once. A delivery waits a moment for a lane of an endpoint
 * that answers quickly. One to a slow endpoint (its last answer, or a request still under way, took longer than
 * that) goes back to the queue at once, so that endpoint never holds the worker lanes the others' deliveries need.
 */
export class EndpointLanes {
  private readonly underWay = new Map<string, Set<{ at: number }>>();
  private readonly lastTook = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly perEndpoint: number) {}

  async take(id: string): Promise<Lane | undefined> {
    const requests = this.requests(id);
    if (requests.size < this.perEndpoint) return this.start(id);
    const now = performance.now();
    if ((this.lastTook.get(id) ?? 0) >= LANE_WAIT_MS || [...requests].some((request) => now - request.at >= LANE_WAIT_MS)) return undefined;
    return new Promise<Lane | undefined>((resolve) => {
      const queue = this.waiting.get(id) ?? [];
      // Handed over as it is freed, so no delivery arriving meanwhile takes it first.
      const wake = () => {
        clearTimeout(timer);
        resolve(this.start(id));
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(wake), 1);
        resolve(undefined);
      }, LANE_WAIT_MS);
      queue.push(wake);
      this.waiting.set(id, queue);
    });
  }

  private requests(id: string): Set<{ at: number }> {
    const requests = this.underWay.get(id) ?? new Set();
    this.underWay.set(id, requests);
    return requests;
  }

  private start(id: string): Lane {
    const request = { at: performance.now() };
    this.requests(id).add(request);
    return (answered = true) => {
      this.requests(id).delete(request);
      if (answered) this.lastTook.set(id, performance.now() - request.at);
      this.waiting.get(id)?.shift()?.();
    };
  }
}
