import { ConfigError } from "./errors.js";

/** `--on all`: every context. Not a context name, so that it means one thing only. */
export const ALL_CONTEXTS = "all";

// A context name becomes a file name (`run --on … --output-dir DIR` writes DIR/NAME.stdout),
// a line prefix ("web1: …") and an item of a comma list (`--on web1,web2`): letters,
// digits, '.', '_' and '-', starting with a letter or digit, so none of those uses needs quoting.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Refuses a name that cannot be a context's (usage error, exit 2); returns it otherwise. */
export function validateContextName(name: string): string {
  if (!NAME.test(name)) {
    throw new ConfigError("CONTEXT_NAME_INVALID", `not a context name: ${JSON.stringify(name)}`, {
      hint: "use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
    });
  }
  if (name === ALL_CONTEXTS) {
    throw new ConfigError("CONTEXT_NAME_INVALID", `"${ALL_CONTEXTS}" cannot be a context name: \`--on ${ALL_CONTEXTS}\` means every context`, {
      hint: "choose another name",
    });
  }
  return name;
}
