// Every command's --help states each default once, as a user would type it.
import assert from "node:assert/strict";
import { Command } from "commander";
import { describe, it } from "node:test";
import { registerCertsCommands } from "../../src/cli/commands/certs.js";
import { registerClientCommands } from "../../src/cli/commands/client-commands.js";
import { registerContextCommands } from "../../src/cli/commands/context.js";
import { registerServeCommand } from "../../src/cli/commands/serve.js";

function allCommands(): Command[] {
  const program = new Command("jobworker");
  registerServeCommand(program);
  registerCertsCommands(program);
  registerContextCommands(program);
  registerClientCommands(program);
  const found: Command[] = [];
  const visit = (command: Command) => {
    found.push(command);
    command.commands.forEach(visit);
  };
  program.commands.forEach(visit);
  return found;
}

describe("--help", () => {
  const commands = allCommands();
  it("covers every command", () => {
    assert.ok(commands.length >= 15, commands.map((c) => c.name()).join(" "));
  });
  for (const command of commands) {
    it(`${command.name()}: each option's default once, never as JSON`, () => {
      for (const option of command.options) {
        const described = command.createHelp().optionDescription(option);
        assert.ok((described.match(/\(default/g) ?? []).length <= 1, `${option.flags}: ${described}`);
        assert.doesNotMatch(described, /\(default: [{[]/, `${option.flags}: ${described}`);
      }
    });
  }
  it("serve --listen shows its default as an address", () => {
    const serve = commands.find((c) => c.name() === "serve")!;
    assert.match(serve.helpInformation(), /\(default: 127\.0\.0\.1:8443\)/);
  });
});
