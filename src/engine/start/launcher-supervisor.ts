import { Launcher, LauncherGoneError, type LaunchAnswer } from "./launcher.js";
import type { LaunchRequest } from "./launcher-protocol.js";

/** How long a start waits for a launcher that is coming back up before it is recorded as failed. */
const RESTART_WAIT_MS = 10_000;

const UNAVAILABLE: LaunchAnswer = { failure: { step: "launcher", code: "ENOTCONN" } };

/**
 * Keeps the pool's one launcher running. When it dies, its jobs end (recorded, see
 * Launcher) and a new one is started; starts that arrive meanwhile wait for it, within
 * RESTART_WAIT_MS, and are then recorded as failed. A start sent to a launcher that died
 * before answering is never sent again: the launcher may have forked it already, and no
 * command may run twice.
 */
export class LauncherSupervisor {
  private current: Launcher | undefined;
  private restarting: Promise<Launcher | undefined> | undefined;
  private closed = false;
  /** Why the last start of a launcher failed. */
  problem: string | undefined;

  private constructor(private readonly program: string | undefined) {}

  /** Starts the first launcher; rejects when it cannot start at all. */
  static async open(program?: string): Promise<LauncherSupervisor> {
    const supervisor = new LauncherSupervisor(program);
    supervisor.adopt(await Launcher.start(program));
    return supervisor;
  }

  /** Starts a job's process (see `Launcher.launch`); never rejects. */
  async launch(request: LaunchRequest): Promise<LaunchAnswer> {
    const launcher = this.current?.usable ? this.current : await this.waitForRestart();
    if (!launcher) return UNAVAILABLE;
    try {
      return await launcher.launch(request);
    } catch (err) {
      if (err instanceof LauncherGoneError) return UNAVAILABLE;
      throw err;
    }
  }

  /** The running launcher's pid (tests stop and kill it). */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.restarting;
    await this.current?.close();
  }

  private adopt(launcher: Launcher): void {
    this.current = launcher;
    launcher.onDeath = () => void this.restart();
  }

  private restart(): Promise<Launcher | undefined> {
    this.restarting ??= Launcher.start(this.program).then(
      (launcher) => {
        this.restarting = undefined;
        this.problem = undefined;
        if (this.closed) {
          void launcher.close();
          return undefined;
        }
        this.adopt(launcher);
        return launcher;
      },
      (err: Error) => {
        this.restarting = undefined;
        this.problem = `the launcher could not start again: ${err.message}`;
        return undefined;
      },
    );
    return this.restarting;
  }

  private async waitForRestart(): Promise<Launcher | undefined> {
    if (this.closed) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), RESTART_WAIT_MS);
    });
    try {
      return await Promise.race([this.restarting ?? this.restart(), bound]);
    } finally {
      clearTimeout(timer);
    }
  }
}
