// Several servers on loopback for the contexts and fan-out tests: one client home with a
// PKI (CA, server certificate for 127.0.0.1, client "default"), N real servers sharing that
// CA, each with its own data directory, and a second PKI with its own server for a context
// whose files differ from the home's.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initPki, pkiPaths, type PkiPaths } from "../../src/pki/index.js";
import { startServer, type RunningServer } from "../../src/server/index.js";

/** A client home and servers to point contexts at. */
export interface Fleet {
  home: string;
  pki: PkiPaths;
  /** Servers signed by the home's CA. */
  servers: RunningServer[];
  /** Another CA with its own server and client "other": reachable only with those files. */
  otherPki: PkiPaths;
  otherServer: RunningServer;
  /** A URL where nothing listens (a server that was started, then closed). */
  downUrl: string;
  /** Environment for the CLI: JOBWORKER_HOME only, no server. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

async function serverOn(pki: PkiPaths, dataDir: string): Promise<RunningServer> {
  return startServer({
    port: 0,
    caFile: pki.caCert,
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    crlFile: pki.crl,
    // The tests check host-side facts about their jobs; isolation is tested elsewhere.
    pool: { dataDir, stopGraceMs: 2000, isolation: false },
    auditLog: false,
    log: () => {},
  });
}

/** Starts `count` servers of the home's CA, one of another CA, and a closed one. */
export async function createFleet(count: number): Promise<Fleet> {
  const home = await mkdtemp(join(tmpdir(), "jobworker-fleet-"));
  // The servers' jobs run unisolated as their identity's own uid (root servers confine):
  // they read and write here (their PKI directories keep their own modes).
  await chmod(home, 0o1777);
  const pki = pkiPaths(join(home, "pki"));
  const otherPki = pkiPaths(join(home, "other-pki"));
  await initPki({ dir: pki.dir, clients: ["default", "alice"] });
  await initPki({ dir: otherPki.dir, clients: ["other"] });
  const servers: RunningServer[] = [];
  for (let i = 0; i < count; i++) servers.push(await serverOn(pki, join(home, `data-${i}`)));
  const otherServer = await serverOn(otherPki, join(home, "data-other"));
  // A host that is down: port 1 refuses (a port closed after use could be another test
  // file's server by the time the fleet is used).
  const down = { url: "https://127.0.0.1:1" };
  return {
    home,
    pki,
    servers,
    otherPki,
    otherServer,
    downUrl: down.url,
    env: { PATH: process.env.PATH, HOME: home, JOBWORKER_HOME: home },
    async close() {
      await Promise.all([...servers, otherServer].map((s) => s.close()));
      await rm(home, { recursive: true, force: true });
    },
  };
}
