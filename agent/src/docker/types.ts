/**
 * The parts of Docker Engine API (v1.24–v1.41) bodies the agent uses. Answers
 * carry more fields than typed here; requests may only use what is typed.
 * Durations in these bodies are nanoseconds, as the engine takes them.
 */

/** GET /version. */
export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  /** Absent before API 1.25. */
  MinAPIVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
}

/** GET /info. */
export interface EngineInfo {
  Name: string;
  NCPU: number;
  MemTotal: number;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  ServerVersion: string;
  /** The engine's own labels, "key=value". */
  Labels: string[] | null;
}

/** One JSON line of POST /images/create. */
export interface PullProgress {
  status?: string;
  /** Layer id the status is about. */
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface Mount {
  Type: "bind" | "volume" | "tmpfs";
  /** Host path (bind) or volume name (volume; empty: anonymous); unused for tmpfs. */
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HostConfig {
  Binds?: string[];
  Mounts?: Mount[];
  NetworkMode?: string;
  /** "port/proto" -> host bindings; an empty HostPort lets the engine pick. */
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[]>;
  RestartPolicy?: { Name: "" | "no" | "always" | "unless-stopped" | "on-failure"; MaximumRetryCount?: number };
  NanoCpus?: number;
  CpuShares?: number;
  Memory?: number;
  MemoryReservation?: number;
  PidsLimit?: number;
  Init?: boolean;
  ReadonlyRootfs?: boolean;
  CapAdd?: string[];
  CapDrop?: string[];
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  /** "hostname:IP" entries. */
  ExtraHosts?: string[];
  LogConfig?: { Type: string; Config?: Record<string, string> };
  Sysctls?: Record<string, string>;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  AutoRemove?: boolean;
}

/** POST /containers/create. */
export interface ContainerCreateBody {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  /** "KEY=value" entries. */
  Env?: string[];
  Labels?: Record<string, string>;
  User?: string;
  WorkingDir?: string;
  Hostname?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  /** Sent by a plain stop: below API 1.42 the stop call cannot choose the signal. */
  StopSignal?: string;
  /** Seconds a stop without `t` waits before SIGKILL. */
  StopTimeout?: number;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  /** "port/proto" -> {}. */
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings> };
}

export type ContainerStatus = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

/** GET /containers/{id}/json. */
export interface ContainerInspect {
  Id: string;
  /** With the leading "/". */
  Name: string;
  State: {
    Status: ContainerStatus;
    Running: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    /** Why the engine could not start or run it; "" otherwise. */
    Error: string;
    /** RFC 3339; "0001-01-01T00:00:00Z" when never started/finished. */
    StartedAt: string;
    FinishedAt: string;
    /** Only for containers with a healthcheck. */
    Health?: { Status: "starting" | "healthy" | "unhealthy" | "none" };
  };
  Config: {
    Image: string;
    /** Includes the image's labels; never null, the engine gives every container a map. */
    Labels: Record<string, string>;
    Tty: boolean;
  };
}

/** One entry of GET /containers/json. */
export interface ContainerSummary {
  Id: string;
  /** With the leading "/". */
  Names: string[];
  /** Never null, as in ContainerInspect. */
  Labels: Record<string, string>;
  State: ContainerStatus;
  /** Human text, e.g. "Up 2 minutes", "Exited (0) 5 seconds ago". */
  Status: string;
}

/** One JSON line of GET /events. */
export interface DockerEvent {
  /** "container", "image", "volume", "network", "daemon", … */
  Type: string;
  /** "create", "start", "die", "health_status: healthy", … */
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: "local" | "swarm";
  /** Unix seconds: the value to resume from with `since`. */
  time: number;
  /** Unix nanoseconds; beyond 2^53, so JSON parsing rounds it. */
  timeNano: number;
}

/** A container's settings on one network (create's NetworkingConfig, POST /networks/{id}/connect). */
export interface EndpointSettings {
  Aliases?: string[];
  IPAMConfig?: { IPv4Address?: string };
}

/** POST /networks/create. */
export interface NetworkCreateBody {
  Name: string;
  Driver: string;
  Internal?: boolean;
  Attachable?: boolean;
  IPAM?: { Driver?: string; Config: { Subnet: string; Gateway?: string }[] };
  /** Driver options, e.g. com.docker.network.bridge.name. */
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** One entry of GET /networks. */
export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  IPAM: { Config: { Subnet?: string; Gateway?: string }[] | null };
  Options: Record<string, string> | null;
  Labels: Record<string, string> | null;
}
