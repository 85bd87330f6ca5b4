// Ctrl-C, SIGTERM and a closed stdout for a whole `run` (one target or `--on` several):
// each stops every job started under it, once.
import { constants } from "node:os";
import type { JobworkerClient } from "../../client/index.js";

/** A job being run: stopping it (Ctrl-C, closed output) goes through here, once. */
export class RunningJob {
  private stopping?: Promise<unknown>;
  constructor(
    readonly client: JobworkerClient,
    readonly id: string,
  ) {}

  /** Asks the server to stop the job; its follow streams then end on their own. Never rejects. */
  stop(): Promise<unknown> {
    return (this.stopping ??= this.client.stop(this.id).catch(() => {}));
  }

  /** Resolves when a stop asked for has been answered (at once if none was). */
  async stopped(): Promise<void> {
    await this.stopping;
  }
}

/** What ends a run early, for every job in it. */
export class RunControl {
  /** The signal that interrupted the run (the first of them). */
  interrupted: NodeJS.Signals | undefined;
  /** Our stdout went away (`run … | head`): every job is stopped, nothing new starts. */
  outputClosed = false;
  private readonly jobs = new Set<RunningJob>();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.interrupted) process.exit(128 + constants.signals[signal]); // second Ctrl-C: give up now
    this.interrupted = signal;
    this.stopAll();
  };

  /** Whether the run is ending: jobs not yet created are not started, started ones are stopped. */
  get ending(): boolean {
    return this.interrupted !== undefined || this.outputClosed;
  }

  /** Handles SIGINT and SIGTERM until {@link unlisten}. */
  listen(): void {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  unlisten(): void {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }

  /** A job just created: stopped at once if the run is already ending. */
  add(job: RunningJob): void {
    this.jobs.add(job);
    if (this.ending) void job.stop();
  }

  /** A job whose run is over: a later Ctrl-C leaves it alone. */
  remove(job: RunningJob): void {
    this.jobs.delete(job);
  }

  /** Our stdout went away: do what a local pipeline does, stop every writer. */
  closeOutput(): void {
    this.outputClosed = true;
    this.stopAll();
  }

  /** 128 + n for the signal n that interrupted the run. */
  get interruptedExitCode(): number | undefined {
    return this.interrupted && 128 + constants.signals[this.interrupted];
  }

  private stopAll(): void {
    for (const job of this.jobs) void job.stop();
  }
}
