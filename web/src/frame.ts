// Rendering happens here, at most once per animation frame: any number of request() calls between two frames (every
// socket frame asks for one) run each view once. A view that throws is reported and does not stop the others, so an
// error never blanks the screen.

type Task = (now: number) => void;

export class FrameLoop {
  private readonly tasks = new Set<Task>();
  private pending = false;

  constructor(
    private readonly onError: (e: unknown) => void,
    private readonly schedule: (fn: () => void) => void = (fn) => requestAnimationFrame(fn),
  ) {}

  /** Adds a view's render function; returns its removal. */
  add(task: Task): () => void {
    this.tasks.add(task);
    this.request();
    return () => this.tasks.delete(task);
  }

  request(): void {
    if (this.pending) return;
    this.pending = true;
    this.schedule(() => this.run());
  }

  private run(): void {
    this.pending = false;
    const now = Date.now();
    for (const task of this.tasks) {
      try {
        task(now);
      } catch (e) {
        this.onError(e);
      }
    }
  }
}
