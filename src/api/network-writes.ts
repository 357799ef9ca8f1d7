import { planSubnet, planVni } from "../allocator/ipam.js";
import { isCasFailure, isUniqueViolation, retryOnConflict } from "../db/cas.js";
import type { Db } from "../db/client.js";
import { getCluster } from "../db/cluster.js";
import { deleteNetwork, findNetworksByRef, insertNetwork, listNetworks, type NetworkRow } from "../db/networks.js";
import { listNodes } from "../db/nodes.js";
import { listServices, type ServiceRow } from "../db/services.js";
import { broadcastOf, contains, formatCidr, formatIpv4, overlaps, parseCidr, parseIpv4, type Cidr } from "../domain/ipv4.js";
import { canEncrypt, encryptedOption, firstVni, hasIngressPorts, ingressNetwork, mtuOption, wireguardRange } from "../domain/network.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { newId } from "../ids.js";
import type { AppDeps } from "../http/context.js";
import { ApiError, invalidField, notFound } from "../http/errors.js";
import { filterNetworks } from "./network-filters.js";

/**
 * The one way a network is created or removed, and service attachments are
 * resolved to networks: the network routes, stacks, service writes and the
 * Docker API call these.
 */

type Deps = Pick<AppDeps, "db" | "keys">;

export interface NetworkRequest {
  name: string;
  driver: "overlay";
  subnet?: string;
  gateway?: string;
  /** Docker's driver options: `encrypted`, `com.docker.network.driver.mtu`. */
  options: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
}

export async function resolveNetwork(db: Db, ref: string): Promise<NetworkRow> {
  const matches = await findNetworksByRef(db, ref);
  if (matches.length === 0) throw notFound("network", ref);
  if (matches.length > 1) throw new ApiError("conflict", `network reference ${ref} is ambiguous; give more of the id`);
  return matches[0]!;
}

/** The MTU option as a number, or undefined when not given; 400 when it is not a usable MTU. */
function mtuOf(options: Record<string, string>): number | undefined {
  const raw = options[mtuOption];
  if (raw === undefined) return undefined;
  const mtu = Number(raw);
  if (!/^\d+$/.test(raw) || mtu < 576 || mtu > 65_535)
    throw invalidField(`body.options.${mtuOption}`, `${mtuOption} must be an MTU from 576 to 65535, not "${raw}"`);
  return mtu;
}

/** The gateway of a subnet: the one asked for (inside it, not its network or broadcast address) or the first address. */
function gatewayOf(subnet: Cidr, gateway: string | undefined): number {
  if (gateway === undefined) return subnet.base + 1;
  const addr = parseIpv4(gateway);
  if (addr === undefined) throw invalidField("body.gateway", `"${gateway}" is not an IPv4 address`);
  if (!contains(subnet, addr) || addr === subnet.base || addr === broadcastOf(subnet))
    throw invalidField("body.gateway", `gateway ${gateway} is not a host address of subnet ${formatCidr(subnet)}`);
  return addr;
}

/** The addresses of a network no one is given: network, broadcast and gateway. */
export const reservedOf = (subnet: Cidr, gateway: number) => [...new Set([subnet.base, broadcastOf(subnet), gateway])].map(formatIpv4);

/** The user's subnet, checked against the others; or the next free /24 of the default pool. */
function subnetOf(request: NetworkRequest, existing: NetworkRow[]): Cidr {
  if (request.subnet === undefined) {
    if (request.gateway !== undefined) throw invalidField("body.gateway", "a gateway needs a subnet (--subnet)");
    const planned = planSubnet(existing.map((n) => parseCidr(n.subnet) as Cidr));
    if (!planned) throw new ApiError("conflict", "the default address pool 10.0.0.0/8 has no free /24 left; give a --subnet");
    return planned;
  }
  const subnet = parseCidr(request.subnet);
  if (typeof subnet === "string") throw invalidField("body.subnet", subnet);
  if (subnet.prefix < 8 || subnet.prefix > 29) throw invalidField("body.subnet", `subnet ${request.subnet}: the prefix length must be 8 to 29`);
  if (overlaps(wireguardRange, subnet)) throw invalidField("body.subnet", `subnet ${request.subnet} overlaps ${formatCidr(wireguardRange)}, which carries the hosts' WireGuard tunnels`);
  const clash = existing.find((n) => overlaps(parseCidr(n.subnet) as Cidr, subnet));
  if (clash) throw new ApiError("conflict", `subnet ${request.subnet} overlaps network ${clash.name} (${clash.subnet})`, [{ path: "body.subnet", message: `overlaps ${clash.subnet}` }]);
  return subnet;
}

export async function createNetwork(deps: Deps, request: NetworkRequest, now: number): Promise<NetworkRow> {
  const mtu = mtuOf(request.options);
  const encrypted = Object.hasOwn(request.options, encryptedOption);
  return retryOnConflict(async () => {
    const [cluster, existing] = await Promise.all([getCluster(deps.db, deps.keys.clusterId), listNetworks(deps.db)]);
    if (existing.some((n) => n.name === request.name))
      throw new ApiError("conflict", `a network named ${request.name} already exists`, [{ path: "body.name", message: "name in use" }]);
    if (encrypted && !(await listNodes(deps.db)).some((n) => n.state === "ready" && canEncrypt(n.overlay)))
      throw invalidField(
        "body.options.encrypted",
        "cannot create an encrypted network: no ready node can do WireGuard (kernel WireGuard or wireguard-go, and a public key from its agent); shoal never runs it unencrypted",
      );
    const subnet = subnetOf(request, existing);
    const gateway = gatewayOf(subnet, request.gateway);
    const vni = planVni(existing.map((n) => n.vni));
    if (vni === undefined) throw new ApiError("conflict", "every VXLAN network identifier is taken");
    const row: NetworkRow = {
      id: newId("net"),
      name: request.name,
      version: 1,
      createdAt: now,
      updatedAt: now,
      driver: request.driver,
      subnet: formatCidr(subnet),
      gateway: formatIpv4(gateway),
      vni,
      mtu: mtu ?? null,
      encrypted,
      internal: request.internal,
      attachable: request.attachable,
      ingress: false,
      labels: request.labels,
      options: request.options,
      ipCursor: 0,
    };
    try {
      await insertNetwork(deps.db, deps.keys.clusterId, cluster!.networkGeneration, row, reservedOf(subnet, gateway));
    } catch (err) {
      // A network of this name was created since the read: the retry says so.
      if (isUniqueViolation(err) && (await listNetworks(deps.db)).some((n) => n.name === request.name))
        throw new ApiError("conflict", `a network named ${request.name} already exists`, [{ path: "body.name", message: "name in use" }]);
      throw err;
    }
    return row;
  });
}

/** The routing-mesh network a new cluster starts with (Swarm's `ingress`). */
export function ingressNetworkRow(now: number): NetworkRow {
  return {
    id: newId("net"),
    name: ingressNetwork.name,
    version: 1,
    createdAt: now,
    updatedAt: now,
    driver: "overlay",
    subnet: ingressNetwork.subnet,
    gateway: ingressNetwork.gateway,
    vni: firstVni,
    mtu: null,
    encrypted: false,
    internal: false,
    attachable: false,
    ingress: true,
    labels: {},
    options: {},
    ipCursor: 0,
  };
}

/** Whether a service is attached to the network (by id, or by a name stored before networks existed). */
export const attaches = (spec: ServiceSpec, network: NetworkRow) =>
  network.ingress ? hasIngressPorts(spec) : spec.task.networks.some((a) => a.target === network.id || a.target === network.name);

/** The services attached to a network. */
export const servicesOn = (services: ServiceRow[], network: NetworkRow) => services.filter((s) => attaches(s.spec, network));

/** Removes a network no service uses (409 while one does). */
export async function removeNetwork(deps: Deps, network: NetworkRow, now: number): Promise<void> {
  const users = servicesOn(await listServices(deps.db), network);
  if (users.length)
    throw new ApiError(
      "conflict",
      `network ${network.name} is in use by service${users.length > 1 ? "s" : ""} ${users.map((s) => s.name).join(", ")}${network.ingress ? " (published ports)" : ""}`,
    );
  try {
    await deleteNetwork(deps.db, deps.keys.clusterId, network, now);
  } catch (err) {
    // The guarded delete found nothing: removed concurrently.
    if (isCasFailure(err)) throw notFound("network", network.id);
    throw err;
  }
}

/** Removes every network but ingress that no service uses and that has all the labels given; the names removed. */
export async function pruneNetworks(deps: Deps, labelFilters: string[] | undefined, now: number): Promise<string[]> {
  const [networks, services] = await Promise.all([listNetworks(deps.db), listServices(deps.db)]);
  const deleted: string[] = [];
  for (const n of filterNetworks(networks, { label: labelFilters }))
    if (!n.ingress && servicesOn(services, n).length === 0) {
      await removeNetwork(deps, n, now);
      deleted.push(n.name);
    }
  return deleted;
}

/**
 * The spec with each attachment's target resolved to its network's id (Docker
 * stores ids too); an unknown network, the ingress network, or the same
 * network twice is refused with the attachment's path.
 */
export async function resolveAttachments(db: Db, spec: ServiceSpec): Promise<ServiceSpec> {
  if (spec.task.networks.length === 0) return spec;
  const all = await listNetworks(db);
  const seen = new Map<string, number>();
  const networks = spec.task.networks.map((a, i) => {
    const path = `body.task.networks.${i}.target`;
    // Docker clients give the id without shoal's `net_` prefix.
    const byId = all.find((n) => n.id === a.target || n.id === `net_${a.target}`) ?? all.find((n) => n.name === a.target);
    const prefixed = byId ? [byId] : all.filter((n) => n.id.startsWith(a.target) || n.id.startsWith(`net_${a.target}`));
    if (prefixed.length === 0) throw new ApiError("not_found", `network ${a.target} not found`, [{ path, message: "no such network; see GET /v1/networks" }]);
    if (prefixed.length > 1) throw new ApiError("conflict", `network reference ${a.target} is ambiguous`, [{ path, message: "give more of the id" }]);
    const network = prefixed[0]!;
    if (network.ingress)
      throw invalidField(path, "a service cannot be attached to the ingress network explicitly; publish a port in ingress mode instead");
    const first = seen.get(network.id);
    if (first !== undefined) throw invalidField(path, `network ${network.name} is attached already (task.networks.${first})`);
    seen.set(network.id, i);
    return { ...a, target: network.id };
  });
  return { ...spec, task: { ...spec.task, networks } };
}
