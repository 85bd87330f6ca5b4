import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobStore } from "../../src/engine/job-store.js";
import { RetentionSweeper } from "../../src/engine/retention.js";

describe("RetentionSweeper", () => {
  it("ends a pass when no delete of a batch succeeds, instead of spinning on the same ids", async () => {
    // A store that keeps returning the same expired ids, as a persistent SQLITE_FULL makes
    // every delete fail and leaves the records in place.
    let asked = 0;
    const store = { expired: () => (asked++, ["a", "b", "c"]) } as unknown as JobStore;
    const attempts: string[] = [];
    const sweeper = new RetentionSweeper(store, { maxCount: 1 }, async (id) => {
      attempts.push(id);
      throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    });
    try {
      await sweeper.sweep();
      assert.equal(asked, 1);
      assert.deepEqual(attempts, ["a", "b", "c"]);
      // The next tick tries again, once.
      await sweeper.sweep();
      assert.equal(asked, 2);
    } finally {
      sweeper.stop();
    }
  });

  it("goes on while batches make progress", async () => {
    const left = ["a", "b", "c", "d", "e"];
    const store = { expired: ({ batch }: { batch: number }) => left.slice(0, Math.min(batch, 2)) } as unknown as JobStore;
    const sweeper = new RetentionSweeper(store, { maxCount: 0 }, async (id) => {
      left.splice(left.indexOf(id), 1);
    });
    try {
      await sweeper.sweep();
      assert.deepEqual(left, []);
    } finally {
      sweeper.stop();
    }
  });
});
