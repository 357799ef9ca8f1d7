import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const networkDrivers = ["overlay"] as const;
export const allocationKinds = ["node", "vip", "task", "reserved"] as const;
export type AllocationKind = (typeof allocationKinds)[number];

/**
 * Overlay networks (scope swarm). Name, subnet, gateway and options are the
 * user's; the VNI, the allocation cursor and the version are the control plane's.
 */
export const networks = sqliteTable(
  "networks",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull().unique(),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    driver: text("driver", { enum: networkDrivers }).notNull(),
    /** IPv4 CIDR, never overlapping another network's. */
    subnet: text("subnet").notNull(),
    /** Reserved (never handed out); hosts use their own node IP as the containers' gateway. */
    gateway: text("gateway").notNull(),
    /** VXLAN network identifier, from 4096 as in Swarm. */
    vni: integer("vni").notNull().unique(),
    /** The user's `com.docker.network.driver.mtu`; null: derived from the hosts' underlay MTU. */
    mtu: integer("mtu"),
    encrypted: integer("encrypted", { mode: "boolean" }).notNull(),
    internal: integer("internal", { mode: "boolean" }).notNull(),
    attachable: integer("attachable", { mode: "boolean" }).notNull(),
    /** The cluster's routing-mesh network. */
    ingress: integer("ingress", { mode: "boolean" }).notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** Driver options as given (docker network inspect shows them). */
    options: text("options", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** The last address handed out: the next allocation searches on from here (serial, as Swarm's IPAM). */
    ipCursor: integer("ip_cursor").notNull().default(0),
  },
);

/**
 * Every address of every network that is or was held: a row per (network,
 * address), so two allocators can never hold the same one. A released row
 * stays (quarantine) and is taken over by an upsert once the quarantine ended.
 */
export const ipAllocations = sqliteTable(
  "ip_allocations",
  {
    networkId: text("network_id").notNull(),
    addr: text("addr").notNull(),
    kind: text("kind", { enum: allocationKinds }).notNull(),
    /** The node, service or task holding it. */
    owner: text("owner").notNull(),
    allocatedAt: integer("allocated_at").notNull(),
    releasedAt: integer("released_at"),
  },
  (t) => [uniqueIndex("ip_allocations_addr").on(t.networkId, t.addr), index("ip_allocations_owner").on(t.owner)],
);
