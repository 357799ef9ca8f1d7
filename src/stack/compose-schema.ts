import { parseBytes, parseDurationMs, parseNanoCpus } from "../domain/units.js";
import { boolean, enumOf, integer, list, map, nothing, number, object, oneOf, string, type Shape } from "./shape.js";

/** The compose v3 format as `docker stack deploy` reads it (docker/cli's config_schema_v3.x), in shape.ts's terms. */

const duration: Shape = { kind: "format", expected: "a duration like 10s, 1m30s or 500ms", parse: (v) => parseDurationMs(String(v)) };
const bytes: Shape = { kind: "format", expected: "a size like 512M, 1.5G or a number of bytes", numbers: true, parse: parseBytes };
const cpus: Shape = { kind: "format", expected: "a number of CPUs like 0.5", numbers: true, parse: parseNanoCpus };
const scalar = oneOf("a string, number or boolean", string, number, boolean);
const stringOrNumber = oneOf("a string or a number", string, number);
const stringOrList = oneOf("a string or a list of strings", string, list(string));
/** `KEY=value` entries, or a mapping; a value left empty in a mapping is taken from the environment. */
const listOrDict = oneOf("a list of KEY=value strings or a mapping", list(string), map(oneOf("a string, number, boolean or nothing", string, number, boolean, nothing)));
const labels = oneOf("a list of key=value strings or a mapping", list(string), map(scalar));
const external = oneOf("true, false or a mapping with name", boolean, object({ name: string }));

const updateConfig = object({
  parallelism: integer,
  delay: duration,
  failure_action: enumOf("pause", "continue", "rollback"),
  monitor: duration,
  max_failure_ratio: number,
  order: enumOf("stop-first", "start-first"),
});

const deploy = object({
  mode: enumOf("replicated", "global", "replicated-job", "global-job"),
  replicas: integer,
  endpoint_mode: enumOf("vip", "dnsrr"),
  labels,
  placement: object({
    constraints: list(string),
    preferences: list(object({ spread: string })),
    max_replicas_per_node: integer,
  }),
  resources: object({
    limits: object({ cpus, memory: bytes, pids: integer }),
    reservations: object({ cpus, memory: bytes }, { ignored: ["generic_resources", "devices"] }),
  }),
  restart_policy: object({
    condition: enumOf("none", "on-failure", "any"),
    delay: duration,
    max_attempts: integer,
    window: duration,
  }),
  update_config: updateConfig,
  rollback_config: updateConfig,
});

const portLong = object({
  target: integer,
  published: oneOf("a port number or range", integer, string),
  protocol: enumOf("tcp", "udp", "sctp"),
  mode: enumOf("ingress", "host"),
});

const volumeLong = object({
  type: enumOf("volume", "bind", "tmpfs"),
  source: string,
  target: string,
  read_only: boolean,
  consistency: string,
  bind: object({ propagation: string }),
  volume: object({ nocopy: boolean }),
  tmpfs: object({ size: bytes }),
});

const fileReference = object({ source: string, target: string, uid: string, gid: string, mode: integer });

const healthcheck = object({
  test: stringOrList,
  interval: duration,
  timeout: duration,
  retries: integer,
  start_period: duration,
  disable: boolean,
});

/** Keys Swarm ignores (a warning lists them), then those shoal does not apply either. */
const ignoredServiceKeys = [
  "build",
  "cgroup_parent",
  "devices",
  "domainname",
  "external_links",
  "ipc",
  "links",
  "mac_address",
  "network_mode",
  "pid",
  "privileged",
  "security_opt",
  "shm_size",
  "userns_mode",
  "container_name",
  "expose",
  "sysctls",
  "ulimits",
  "stdin_open",
  "credential_spec",
  "isolation",
] as const;

/** Keys stacks refuse, with what to write instead. */
const refusedServiceKeys: Record<string, string> = {
  extends: "write the service out in full, or split it over several -c files (later files override earlier ones)",
  volume_driver: "declare the volume under the top-level volumes with its driver",
  volumes_from: "mount the same named volume in both services",
  cpu_quota: "use deploy.resources.limits.cpus",
  cpu_shares: "use deploy.resources.reservations.cpus",
  cpuset: "use deploy.resources.limits.cpus",
  mem_limit: "use deploy.resources.limits.memory",
  memswap_limit: "use deploy.resources.limits.memory",
};

const serviceShape = object(
  {
    image: string,
    command: stringOrList,
    entrypoint: stringOrList,
    environment: listOrDict,
    env_file: stringOrList,
    labels,
    deploy,
    ports: list(oneOf("a port like 8080:80 or a mapping with target", stringOrNumber, portLong)),
    volumes: list(oneOf("a volume like data:/data or a mapping with target", string, volumeLong)),
    tmpfs: stringOrList,
    networks: oneOf(
      "a list of network names or a mapping",
      list(string),
      map(oneOf("nothing or a mapping with aliases", nothing, object({ aliases: list(string), ipv4_address: string, ipv6_address: string }))),
    ),
    secrets: list(oneOf("a secret name or a mapping with source", string, fileReference)),
    configs: list(oneOf("a config name or a mapping with source", string, fileReference)),
    depends_on: oneOf(
      "a list of service names or a mapping",
      list(string),
      map(object({ condition: enumOf("service_started", "service_healthy", "service_completed_successfully") })),
    ),
    healthcheck,
    logging: object({ driver: string, options: map(oneOf("a string or a number", string, number, nothing)) }),
    restart: enumOf("no", "always", "on-failure", "unless-stopped"),
    hostname: string,
    user: stringOrNumber,
    working_dir: string,
    init: boolean,
    read_only: boolean,
    tty: boolean,
    cap_add: list(string),
    cap_drop: list(string),
    dns: stringOrList,
    dns_search: stringOrList,
    dns_opt: list(string),
    extra_hosts: oneOf("a list of host:ip strings or a mapping", list(string), map(string)),
    stop_grace_period: duration,
    stop_signal: string,
  },
  { extensions: true, ignored: ignoredServiceKeys, refused: refusedServiceKeys },
);

const networkShape = oneOf(
  "nothing or a mapping",
  nothing,
  object(
    {
      driver: string,
      driver_opts: map(stringOrNumber),
      external,
      name: string,
      attachable: boolean,
      internal: boolean,
      enable_ipv6: boolean,
      labels,
      ipam: object({ driver: string, config: list(object({ subnet: string })), options: map(string) }),
    },
    { extensions: true },
  ),
);

const volumeShape = oneOf(
  "nothing or a mapping",
  nothing,
  object({ driver: string, driver_opts: map(stringOrNumber), external, name: string, labels }, { extensions: true }),
);

const fileObjectShape = object(
  { file: string, external, name: string, labels, driver: string, driver_opts: map(stringOrNumber), template_driver: string },
  { extensions: true },
);

export const composeShape = object(
  {
    version: stringOrNumber,
    services: map(serviceShape),
    networks: map(networkShape),
    volumes: map(volumeShape),
    secrets: map(fileObjectShape),
    configs: map(fileObjectShape),
  },
  { extensions: true },
);
