// The limits a job and an identity get when nobody asked for any, from the host's
// pid_max, memory and CPU count: pure functions of those numbers.
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import {
  defaultClientLimits,
  defaultJobLimits,
  describeDefaults,
  parseMemTotal,
  parsePidMax,
  readHost,
  type HostFacts,
} from "../../../src/engine/confinement/host-defaults.js";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** A 2-CPU host with the kernel's default pid_max and 24683584 kB of memory. */
const HOST: HostFacts = { pidMax: 32768, memTotalBytes: 24683584 * 1024, cpus: 2 };

describe("defaultJobLimits", () => {
  it("processes: 15% of pid_max, at most 4096; memory: half the host's, in whole MiB", () => {
    // 15% of 32768 is 4915.2: above the cap.
    assert.deepEqual(defaultJobLimits(HOST), { pids: 4096, memoryBytes: 12052 * MIB });
    // 15% of 4096 is 614.4: below the cap, rounded down.
    assert.deepEqual(defaultJobLimits({ pidMax: 4096, memTotalBytes: 8 * GIB, cpus: 1 }), { pids: 614, memoryBytes: 4 * GIB });
    // A large host: the cap holds.
    assert.deepEqual(defaultJobLimits({ pidMax: 4194304, memTotalBytes: 1024 * GIB, cpus: 128 }), { pids: 4096, memoryBytes: 512 * GIB });
  });

  it("rounds memory down to a whole MiB", () => {
    const { memoryBytes } = defaultJobLimits({ pidMax: 32768, memTotalBytes: 3 * MIB + 12345, cpus: 1 });
    assert.equal(memoryBytes, 4 * MIB); // 1.5 MiB would be below the engine's floor
    assert.equal(defaultJobLimits({ pidMax: 32768, memTotalBytes: 1001 * MIB + 1, cpus: 1 }).memoryBytes, 500 * MIB);
  });

  it("never goes below what the engine accepts", () => {
    // pid_max's smallest setting is 301: 15% is 45; a tiny memory gives the 4 MiB floor.
    assert.deepEqual(defaultJobLimits({ pidMax: 301, memTotalBytes: 2 * MIB, cpus: 1 }), { pids: 45, memoryBytes: 4 * MIB });
    assert.deepEqual(defaultJobLimits({ pidMax: 10, memTotalBytes: 0, cpus: 1 }), { pids: 2, memoryBytes: 4 * MIB });
  });
});

describe("defaultClientLimits", () => {
  it("processes: 15% of pid_max; memory: three quarters of the host's, in whole MiB; no CPU cap", () => {
    // 24683584 kB * 3/4 = 18512688 kB = 18078.8 MiB.
    assert.deepEqual(defaultClientLimits(HOST), { pids: 4915, memoryBytes: 18078 * MIB });
    assert.deepEqual(defaultClientLimits({ pidMax: 4194304, memTotalBytes: 64 * GIB, cpus: 16 }), { pids: 629145, memoryBytes: 48 * GIB });
  });

  it("an identity's share is never below one job's", () => {
    for (const host of [HOST, { pidMax: 301, memTotalBytes: 512 * MIB, cpus: 1 }, { pidMax: 4194304, memTotalBytes: 2048 * GIB, cpus: 256 }]) {
      const job = defaultJobLimits(host);
      const client = defaultClientLimits(host);
      assert.ok(client.pids >= job.pids, `pids on ${JSON.stringify(host)}`);
      assert.ok(client.memoryBytes >= job.memoryBytes, `memory on ${JSON.stringify(host)}`);
    }
  });
});

describe("describeDefaults", () => {
  it("says both in one line, GiB rounded down to a tenth", () => {
    assert.equal(
      describeDefaults(defaultJobLimits(HOST), defaultClientLimits(HOST)),
      "default limits per job: 4096 processes, 11.7 GiB memory; per identity: 4915 processes, 17.6 GiB, CPU time not capped",
    );
  });

  it("uses MiB below 1 GiB, and the singular for one", () => {
    assert.equal(
      describeDefaults({ pids: 1, memoryBytes: 512 * MIB }, { pids: 45, memoryBytes: 1023 * MIB }),
      "default limits per job: 1 process, 512 MiB memory; per identity: 45 processes, 1023 MiB, CPU time not capped",
    );
    assert.equal(describeDefaults({ pids: 2, memoryBytes: GIB }, { pids: 2, memoryBytes: 16 * GIB }), "default limits per job: 2 processes, 1.0 GiB memory; per identity: 2 processes, 16.0 GiB, CPU time not capped");
  });
});

describe("reading the host", () => {
  it("parses /proc/sys/kernel/pid_max", () => {
    assert.equal(parsePidMax("32768\n"), 32768);
    assert.equal(parsePidMax("4194304"), 4194304);
    assert.equal(parsePidMax(""), undefined);
    assert.equal(parsePidMax("lots\n"), undefined);
  });

  it("parses MemTotal of /proc/meminfo, in bytes", () => {
    const meminfo = "MemTotal:       24683584 kB\nMemFree:         1234567 kB\nMemAvailable:   20000000 kB\n";
    assert.equal(parseMemTotal(meminfo), 24683584 * 1024);
    assert.equal(parseMemTotal("MemFree: 1 kB\n"), undefined);
    assert.equal(parseMemTotal(""), undefined);
  });

  it("readHost gives this host's positive integers, and its CPU count", () => {
    const host = readHost();
    assert.ok(Number.isInteger(host.pidMax) && host.pidMax >= 301, `pidMax ${host.pidMax}`);
    assert.ok(Number.isInteger(host.memTotalBytes) && host.memTotalBytes > 0, `memTotalBytes ${host.memTotalBytes}`);
    assert.equal(host.cpus, availableParallelism());
  });
});
