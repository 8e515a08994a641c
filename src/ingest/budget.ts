/**
 * How much ingestion work one process takes on at once (INGEST_MAX_CONCURRENT
 * uploads, INGEST_MAX_BYTES_IN_FLIGHT of their bodies), shared by the request path
 * and the workers. What does not fit stays archived and queued, answered 202, and a
 * worker takes it when there is room: four large uploads at once must not take the
 * process's memory and both cores while /health waits.
 */
export interface Budget {
  /** Takes a place for a body of `size` bytes if there is room now. */
  tryTake(size: number): boolean;
  /**
   * Takes a place for a body not chosen yet (a worker about to claim one): the most
   * bytes it may have, or null when there is no room. `fill` then adds its size.
   */
  reserve(): number | null;
  fill(size: number): void;
  /** Gives back a place and its bytes, and tells the `onRoom` listener. */
  release(size: number): void;
}

/**
 * Bodies up to this size (the phone's everyday uploads, kilobytes) are parsed in one
 * slice within milliseconds: they count against the bytes in flight only, so a large
 * upload being processed never turns them into 202s.
 */
const SMALL_BODY_BYTES = 1024 * 1024;

export function createBudget(limits: { maxConcurrent: number; maxBytes: number }, onRoom: () => void = () => undefined): Budget {
  let running = 0;
  let bytes = 0;
  // A body larger than the whole budget would never fit: it runs alone instead.
  const room = (small: boolean) => (running === 0 ? Infinity : !small && running >= limits.maxConcurrent ? 0 : limits.maxBytes - bytes);
  return {
    tryTake(size) {
      const free = room(size <= SMALL_BODY_BYTES);
      if (free <= 0 || size > free) return false;
      running += 1;
      bytes += size;
      return true;
    },
    reserve() {
      const free = room(false);
      if (free <= 0) return null;
      running += 1;
      return free;
    },
    fill(size) {
      bytes += size;
    },
    release(size) {
      running -= 1;
      bytes -= size;
      onRoom();
    },
  };
}
