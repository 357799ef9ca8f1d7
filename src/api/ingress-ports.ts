import type { PortConfig, ServiceSpec } from "../domain/service-spec.js";
import { ApiError } from "../http/errors.js";

const ingressPortRange = { min: 30000, max: 32767 } as const;

const key = (p: PortConfig) => `${p.protocol}/${p.publishedPort}`;

/**
 * Published ingress ports are cluster-wide (the routing mesh opens them on every
 * node): refuses a port another service publishes, and gives ports without a
 * number one from 30000–32767, keeping the number a previous spec had for the
 * same target and protocol. Returns the spec with every ingress port numbered.
 */
export function assignIngressPorts(spec: ServiceSpec, others: ServiceSpec[], previous?: ServiceSpec): ServiceSpec {
  const taken = new Map<string, string>();
  for (const other of others)
    for (const p of other.endpoint.ports) if (p.publishMode === "ingress" && p.publishedPort) taken.set(key(p), other.name);
  const ports = spec.endpoint.ports.map((p, i) => {
    if (p.publishMode !== "ingress") return p;
    if (p.publishedPort) {
      const owner = taken.get(key(p));
      if (owner)
        throw new ApiError("conflict", `port ${p.publishedPort}/${p.protocol} is already published by service ${owner}`, [
          { path: `body.endpoint.ports.${i}.publishedPort`, message: `in use by service ${owner}` },
        ]);
      return p;
    }
    const kept = previous?.endpoint.ports.find(
      (q) => q.publishMode === "ingress" && q.targetPort === p.targetPort && q.protocol === p.protocol && q.publishedPort,
    );
    if (kept && !taken.has(key(kept))) return { ...p, publishedPort: kept.publishedPort };
    return { ...p, publishedPort: undefined };
  });
  const used = new Set([...taken.keys(), ...ports.filter((p) => p.publishedPort).map(key)]);
  for (const p of ports) {
    if (p.publishMode !== "ingress" || p.publishedPort) continue;
    let n: number = ingressPortRange.min;
    while (n <= ingressPortRange.max && used.has(`${p.protocol}/${n}`)) n++;
    if (n > ingressPortRange.max) throw new ApiError("conflict", "no free port left in the ingress range 30000-32767");
    p.publishedPort = n;
    used.add(key(p));
  }
  return { ...spec, endpoint: { ...spec.endpoint, ports } };
}
