import type { CommandGroup } from "../cli.js";
import { registerContextCommands } from "./context.js";
import { registerEventsCommands } from "./events.js";
import { registerExecCommands } from "./exec.js";
import { registerMachineCommands } from "./machine.js";
import { registerNetworkCommands } from "./network.js";
import { registerNodeCommands } from "./node.js";
import { registerConfigCommands, registerSecretCommands } from "./secret.js";
import { registerServiceCommands } from "./service.js";
import { registerStackCommands } from "./stack.js";
import { registerSwarmCommands } from "./swarm.js";
import { registerWebhookCommands } from "./webhook.js";

/**
 * Every command group, in help order. A new group (stack, network, secret,
 * config, webhook, events) is one file exporting a CommandGroup, listed here.
 */
export const commandGroups: CommandGroup[] = [
  registerSwarmCommands,
  registerNodeCommands,
  registerMachineCommands,
  registerServiceCommands,
  registerStackCommands,
  registerExecCommands,
  registerNetworkCommands,
  registerSecretCommands,
  registerConfigCommands,
  registerWebhookCommands,
  registerEventsCommands,
  registerContextCommands,
];
