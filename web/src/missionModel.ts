// The newest `mission` frame per drone (docs/protocol.md, "Node → operator"): the detail page shows which mission a
// drone flies and where it is in it.
import { Emitter } from './events';
import type { MissionFrame } from './types';

export class MissionBook {
  private readonly byDrone = new Map<string, MissionFrame>();
  version = 0;
  readonly changed = new Emitter();

  apply(f: MissionFrame): void {
    this.byDrone.set(f.drone.drone_id, { ...f, received: Date.now() });
    this.version++;
    this.changed.emit();
  }

  get(droneId: string): MissionFrame | undefined {
    return this.byDrone.get(droneId);
  }

  clear(): void {
    this.byDrone.clear();
    this.version++;
    this.changed.emit();
  }
}
