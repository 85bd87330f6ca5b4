// `jobworker context add|use|list|show|remove`: named servers with their files, kept in
// <home>/config.json, so that `--context web1` (or `run --on web1,web2`) replaces four
// flags or environment variables. docs/cli.md, "Contexts".
import { resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_CLIENT_NAME } from "../../pki/defaults.js";
import { defaultPkiDir, pkiPaths } from "../../pki/paths.js";
import { configPath, findContext, readConfig, writeConfig, type ClientConfig, type ContextEntry } from "../config/config-file.js";
import { validateContextName } from "../config/context-name.js";
import { ConfigError } from "../config/errors.js";
import { formatRows, printJson } from "../format/print.js";
import { resolveHome } from "../options/client.js";

interface HomeFlags {
  home?: string;
  json?: boolean;
}

interface AddFlags extends HomeFlags {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  force?: boolean;
}

/** Registers `jobworker context` and its subcommands. */
export function registerContextCommands(program: Command): void {
  const context = program
    .command("context")
    .summary("name servers and their certificates: add, use, list, show, remove")
    .description(
      "A context names a server and the files to reach it with (CA, certificate, key).\n" +
        "Contexts live in <home>/config.json (mode 0600). Every client command takes\n" +
        "--context NAME (or JOBWORKER_CONTEXT); without either it uses the current context\n" +
        "(`context use`), and with no context at all the flags, environment and defaults alone.\n" +
        "A flag beats the environment, which beats the context, which beats the defaults.",
    );
  context.addHelpText(
    "after",
    `
Examples:
  jobworker context add web1 --server https://web1.example.com:8443 --ca ca.pem --cert me.pem --key me.key
  jobworker context add local --server 127.0.0.1:8443     # files: the home PKI's
  jobworker context use web1
  jobworker list --context local
  jobworker run --on web1,web2 -- uptime`,
  );

  withHome(
    context
      .command("add")
      .description("add a context; its files are checked first (default: the home PKI's ca.pem, clients/default.pem and .key)")
      .argument("<name>", "the context's name: letters, digits, '.', '_', '-'")
      .requiredOption("--server <url>", "the server's URL, https://HOST:PORT")
      .option("--ca <file>", "CA certificate that signed the server's certificate (default <home>/pki/ca.pem)")
      .option("--cert <file>", `client certificate (default <home>/pki/clients/${DEFAULT_CLIENT_NAME}.pem)`)
      .option("--key <file>", `client key (default <home>/pki/clients/${DEFAULT_CLIENT_NAME}.key)`)
      .option("--force", "replace a context of the same name"),
  ).action(async (name: string, flags: AddFlags) => {
    validateContextName(name);
    const { parseServerUrl } = await import("../../client/index.js");
    const home = resolveHome(flags);
    const pki = pkiPaths(defaultPkiDir(home));
    const entry: ContextEntry = {
      server: parseServerUrl(flags.server).href.replace(/\/$/, ""),
      ca: resolve(flags.ca ?? pki.caCert),
      cert: resolve(flags.cert ?? pki.clientCert(DEFAULT_CLIENT_NAME)),
      key: resolve(flags.key ?? pki.clientKey(DEFAULT_CLIENT_NAME)),
    };
    const config = readConfig(home) ?? { contexts: {} };
    if (!flags.force && Object.hasOwn(config.contexts, name)) {
      throw new ConfigError("CONTEXT_EXISTS", `a context named "${name}" exists already in ${configPath(home)}`, {
        hint: "pass --force to replace it, or choose another name",
      });
    }
    const { checkContextFiles } = await import("../config/check-context-files.js");
    await checkContextFiles(entry);
    await writeConfig(home, { ...config, contexts: { ...config.contexts, [name]: entry } });
    if (flags.json) return printJson({ name, ...entry });
    process.stdout.write(`added context ${name}: ${entry.server}${config.current_context === undefined ? ` (select it with --context ${name}, or \`jobworker context use ${name}\`)` : ""}\n`);
  });

  withHome(context.command("use").description("make a context the current one").argument("<name>", "the context")).action(
    async (name: string, flags: HomeFlags) => {
      const home = resolveHome(flags);
      const config = readConfig(home);
      findContext(config, name, home);
      await writeConfig(home, { ...config!, current_context: name });
      process.stdout.write(`current context: ${name}\n`);
      const fromEnv = process.env.JOBWORKER_CONTEXT;
      if (fromEnv && fromEnv !== name) process.stderr.write(`jobworker: note: JOBWORKER_CONTEXT=${fromEnv} is set, and wins over the current context\n`);
    },
  );

  withHome(context.command("list").description("list the contexts; * marks the one in use")).action((flags: HomeFlags) => {
    const home = resolveHome(flags);
    const config = readConfig(home);
    const inUse = contextInUse(config);
    const names = Object.keys(config?.contexts ?? {}).sort();
    if (flags.json) {
      return printJson({ ...(inUse !== undefined && { current_context: inUse }), contexts: names.map((name) => ({ name, ...config!.contexts[name] })) });
    }
    if (names.length === 0) {
      process.stderr.write(`jobworker: no contexts in ${configPath(home)} (\`jobworker context add NAME --server URL\` adds one)\n`);
      return;
    }
    const rows = [["CURRENT", "NAME", "SERVER"], ...names.map((name) => [name === inUse ? "*" : "", name, config!.contexts[name]!.server])];
    const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    process.stdout.write(rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`).join("\n") + "\n");
  });

  withHome(
    context.command("show").description("show a context: its server and files (default: the one in use)").argument("[name]", "the context"),
  ).action((name: string | undefined, flags: HomeFlags) => {
    const home = resolveHome(flags);
    const config = readConfig(home);
    const inUse = contextInUse(config);
    const shown = name ?? inUse;
    if (shown === undefined) {
      throw new ConfigError("CONTEXT_NOT_FOUND", "no context is in use", {
        hint: "name one (`jobworker context show NAME`), or pick one with `jobworker context use NAME`",
      });
    }
    const entry = findContext(config, shown, home);
    if (flags.json) return printJson({ name: shown, ...entry, current: shown === inUse });
    process.stdout.write(
      formatRows([
        ["name", `${shown}${shown === inUse ? " (in use)" : ""}`],
        ["server", entry.server],
        ["ca", entry.ca],
        ["cert", entry.cert],
        ["key", entry.key],
      ]),
    );
  });

  withHome(context.command("remove").description("remove a context").argument("<name>", "the context")).action(async (name: string, flags: HomeFlags) => {
    const home = resolveHome(flags);
    const config = readConfig(home);
    findContext(config, name, home);
    const { [name]: _removed, ...contexts } = config!.contexts;
    const { current_context: current, ...rest } = config!;
    const next: ClientConfig = { ...rest, contexts, ...(current !== undefined && current !== name && { current_context: current }) };
    await writeConfig(home, next);
    process.stdout.write(`removed context ${name}${current === name ? " (it was the current one: now there is none)" : ""}\n`);
  });
}

/** The context a client command would use by default: JOBWORKER_CONTEXT, else the current one. */
function contextInUse(config: ClientConfig | undefined): string | undefined {
  const fromEnv = process.env.JOBWORKER_CONTEXT;
  return fromEnv ? fromEnv : config?.current_context;
}

function withHome(cmd: Command): Command {
  return cmd.option("--home <dir>", "jobworker home holding config.json (env JOBWORKER_HOME)").option("--json", "print JSON instead of text");
}
