import { describe, expect, it } from "vitest";
import { filterNodes } from "../../src/api/node-filters.js";
import type { NodeRow } from "../../src/db/nodes.js";
import { fixtureNode } from "../helpers/cluster-fixtures.js";

const node = (id: string, hostname: string, over: Partial<NodeRow> = {}) => fixtureNode(id, { hostname, ...over });

const nodes = [
  node("node_aaa1", "web-1", { labels: { zone: "a" }, engineLabels: { ssd: "true" } }),
  node("node_aab2", "web-2", { labels: { zone: "b" } }),
  node("node_bbb3", "db-1", { role: "manager", labels: { zone: "a", db: "" } }),
];
const ids = (f: Parameters<typeof filterNodes>[1]) => filterNodes(nodes, f).map((n) => n.id);

describe("filterNodes (docker node ls -f)", () => {
  it.each([
    ["no filters", {}, ["node_aaa1", "node_aab2", "node_bbb3"]],
    ["id prefix", { id: ["node_aa"] }, ["node_aaa1", "node_aab2"]],
    ["name prefix", { name: ["web"] }, ["node_aaa1", "node_aab2"]],
    ["role", { role: ["manager"] }, ["node_bbb3"]],
    ["values of one filter are alternatives", { role: ["manager", "worker"] }, ["node_aaa1", "node_aab2", "node_bbb3"]],
    ["filters combine with and", { name: ["web"], "node.label": ["zone=a"] }, ["node_aaa1"]],
    ["node label key only", { "node.label": ["db"] }, ["node_bbb3"]],
    ["engine label", { label: ["ssd=true"] }, ["node_aaa1"]],
    ["engine label is not a node label", { label: ["zone=a"] }, []],
    // docker ANDs repeated label filters (MatchKVList), unlike other filters' values.
    ["node label filters must all hold", { "node.label": ["zone=a", "db"] }, ["node_bbb3"]],
    ["node label filters: one failing excludes", { "node.label": ["zone=b", "db"] }, []],
    ["engine label filters must all hold", { label: ["ssd=true", "ssd"] }, ["node_aaa1"]],
    ["engine label filters: key and other value", { label: ["ssd", "ssd=false"] }, []],
    ["a label filter is not Object's prototype", { "node.label": ["constructor"] }, []],
    ["membership accepted", { membership: ["accepted"] }, ["node_aaa1", "node_aab2", "node_bbb3"]],
    ["membership pending", { membership: ["pending"] }, []],
  ] as const)("%s", (_name, filters, expected) => {
    expect(ids(filters as never)).toEqual(expected);
  });
});
