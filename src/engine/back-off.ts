/**
 * Checks `done` after short, growing pauses (1 ms doubling to 50 ms) until it holds or
 * `limitMs` has passed; resolves with whether it held.
 *
 * Only for what Linux gives no event for: the death of processes that are not our
 * children (no pidfds in Node), and the cgroup v1 cases (freezer state, an emptied or
 * busy cgroup). Everything else in the engine waits for an event. It returns at once when
 * `done` already holds, the common case.
 */
export async function until(done: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  let pause = 1;
  for (let waited = 0; waited < limitMs; waited += pause, pause = Math.min(pause * 2, 50)) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return done();
}
