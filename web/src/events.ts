// A minimal typed event: modules announce what happened, main.ts wires who reacts. Keeps the modules free of
// imports of each other (live.ts does not know the header, auth.ts does not know the socket).

export class Emitter<T = void> {
  private readonly listeners = new Set<(value: T) => void>();

  on(fn: (value: T) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(value: T): void {
    // A Set visits listeners added meanwhile and skips removed ones: no copy per emit (some emit per frame).
    for (const fn of this.listeners) fn(value);
  }
}
