import type { DockerClient } from "./docker/client.js";

/** What the agent uses of the Docker client: the real one, or an in-memory engine in unit tests. */
export type Engine = Pick<
  DockerClient,
  | "negotiate"
  | "info"
  | "ping"
  | "events"
  | "listContainers"
  | "inspectContainer"
  | "imageExists"
  | "pullImage"
  | "createVolume"
  | "createContainer"
  | "startContainer"
  | "stopContainer"
  | "removeContainer"
  | "connectNetwork"
  | "putArchive"
>;
