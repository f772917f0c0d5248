// Who holds each drone's control lease, from GET /drones/{id}/control, the POST answer and `control` frames.
import { Emitter } from './events';
import { isNum } from './format';
import type { Lease } from './types';

export class LeaseBook {
  private readonly byDrone = new Map<string, Lease>();
  version = 0;
  readonly changed = new Emitter();

  set(lease: Lease): void {
    this.byDrone.set(lease.drone_id, lease);
    this.version++;
    this.changed.emit();
  }

  get(droneId: string): Lease | undefined {
    return this.byDrone.get(droneId);
  }

  clear(): void {
    this.byDrone.clear();
    this.version++;
    this.changed.emit();
  }
}

/** The holder now: null when nobody holds it or the lease ran out (node clock `nodeNow`, ms). */
export function currentHolder(lease: Lease | undefined, nodeNow: number): string | null {
  if (!lease || !lease.holder) return null;
  if (isNum(lease.expires_at) && lease.expires_at <= nodeNow) return null;
  return lease.holder;
}
