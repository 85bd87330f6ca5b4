import { InvalidArgumentError, Option, type Command } from "commander";
import type { JobPage } from "../../client/index.js";
import { addClientOptions, CLIENT_ENV_HELP, withClient, type ClientFlags } from "../options/client.js";
import { formatCommand, formatJobTable } from "../format/job.js";
import { printJson } from "../format/print.js";
import { integerParser } from "../options/numbers.js";
import { addFanOutOptions, checkFanOutFlags, type FanOutFlags } from "../options/fan-out.js";
import { fanOutUsage } from "../fan-out/targets.js";
import { collectLabels } from "../options/repeatable.js";

const parsePageSize = integerParser(1, 1000);

/** `jobworker list`: your jobs, newest first, as an aligned table. */
export function registerListCommand(program: Command): void {
  const cmd = program
    .command("list")
    .summary("list your jobs")
    .description(
      "List the jobs of your identity (the CN of your client certificate), newest first:\n" +
        "ID, STATUS, EXIT (the exit code, with the signal if one killed it), AGE and COMMAND.\n" +
        "One page at a time (--limit, default 100); when more follow, stderr says how to get them.\n" +
        "The server's admins (serve --admin) may list another identity's jobs (--owner NAME) or\n" +
        "everyone's (--all-owners); the table then has an OWNER column.",
    )
    .option("--limit <n>", "jobs per page, 1 to 1000", parsePageSize, 100)
    .option("--cursor <cursor>", "start after the previous page (its next_cursor)")
    .option("--all", "every job, page after page")
    .option("--label <KEY=VALUE>", "only jobs with this label; repeatable, and then all must match", collectLabels)
    .addOption(new Option("--status <state>", "only jobs in this state").choices(["queued", "running", "completed", "error"]))
    .addOption(new Option("--owner <name>", "the jobs of this identity (admins only)").argParser(parseOwner).conflicts("allOwners"))
    .addOption(new Option("--all-owners", "the jobs of every identity (admins only)"));
  addFanOutOptions(addClientOptions(cmd)).addHelpText(
    "after",
    `
Examples:
  jobworker list
  jobworker list --limit 20
  jobworker list --all --json | jq -r '.jobs[] | select(.status == "running") | .id'
  jobworker list --on web1,web2      # a HOST column first; --on all for every context
  jobworker list --all-owners          # as an admin: everyone's jobs, with OWNER
  jobworker list --owner alice --all

Exit codes: 0 ok, 1 failure (server, certificates), 2 usage.
${CLIENT_ENV_HELP}`,
  );
  cmd.action(async (flags: ListFlags) => {
    const targets = checkFanOutFlags(flags, cmd);
    if (targets) {
      if (flags.cursor !== undefined) throw fanOutUsage("--cursor cannot be used with --on: a cursor belongs to one server", "list");
      if (flags.label || flags.status !== undefined) throw fanOutUsage("--label and --status cannot be used with --on (yet): filter one server's jobs at a time", "list");
      if (flags.owner !== undefined || flags.allOwners) throw fanOutUsage("--owner and --all-owners cannot be used with --on (yet): list one server's owners at a time", "list");
      const { listOnContexts } = await import("../fan-out/list-on.js");
      process.exitCode = await listOnContexts(targets, { parallel: flags.parallel, all: flags.all, json: flags.json, page: { limit: flags.limit } });
      return;
    }
    const owner = flags.allOwners ? "*" : flags.owner;
    const whose = { ...(owner !== undefined && { owner }), ...(flags.label && { labels: flags.label }), ...(flags.status !== undefined && { status: flags.status }) };
    await withClient(flags, async (client) => {
      const page: JobPage = flags.all
        ? { jobs: await client.list(whose) }
        : await client.listPage({ ...whose, limit: flags.limit, ...(flags.cursor !== undefined && { cursor: flags.cursor }) });
      if (flags.json) printJson(page);
      else {
        // `--owner` with our own name lists what no --owner lists, and looks the same.
        process.stdout.write(formatJobTable(page.jobs, { showOwner: owner !== undefined && owner !== client.identity() }));
        if (page.next_cursor !== undefined) process.stderr.write(`more jobs: ${nextPageCommand(listArgv(), page.next_cursor)} (or --all)\n`);
      }
    });
  });
}

/** The words after `list` on our own command line. */
function listArgv(): string[] {
  const argv = process.argv.slice(2);
  return argv.slice(argv.indexOf("list") + 1);
}

/**
 * The command for the page after this one: the same flags as given (`--limit`,
 * `--server`…), with `--cursor` set to `cursor`, quoted for a POSIX shell.
 */
export function nextPageCommand(args: readonly string[], cursor: string): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--cursor") i++;
    else if (!args[i]!.startsWith("--cursor=")) kept.push(args[i]!);
  }
  return formatCommand("jobworker", ["list", ...kept, "--cursor", cursor]);
}

interface ListFlags extends ClientFlags, FanOutFlags {
  limit: number;
  cursor?: string;
  all?: boolean;
  owner?: string;
  allOwners?: boolean;
  label?: Record<string, string>;
  status?: "queued" | "running" | "completed" | "error";
}

/** `--owner NAME`: an identity, never empty (`--all-owners` asks for everyone's). */
function parseOwner(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("expected an identity (the CN of its client certificate)");
  return value;
}
