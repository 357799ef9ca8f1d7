export * from "./cluster.js";
export * from "./events.js";
export * from "./nodes.js";
export * from "./tokens.js";
export * from "./services.js";
export * from "./webhooks.js";
export * from "./stacks.js";
export * from "./hooks.js";
