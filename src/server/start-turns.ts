/**
 * Job starts take turns, one per turn of the event loop. A start holds the server's
 * thread for a millisecond or more (the record, the cgroup, the launcher's answer); a
 * burst of them handled in one pass of the loop would keep every other request waiting
 * for the whole burst. Between two starts the loop reads the sockets again, so a status
 * request waits for at most one start (docs/design.md, "The start path").
 */
export class StartTurns {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  /** Resolves when it is the caller's turn: the caller then starts its job at once, synchronously. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    // An immediate queued while immediates run waits for the loop's next turn: the
    // sockets are polled between two starts.
    setImmediate(() => {
      this.scheduled = false;
      this.waiting.shift()!();
      this.schedule();
    });
  }
}
