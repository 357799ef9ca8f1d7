/** What a stack declares besides its services. */
export const stackResourceKinds = ["network", "volume", "secret", "config"] as const;
export type StackResourceKind = (typeof stackResourceKinds)[number];

export interface StackResource {
  kind: StackResourceKind;
  /** The name it has on the cluster: `<stack>_<key>`, its `name:`, or the external name. */
  name: string;
  /** The key in the compose file. */
  key: string;
  external: boolean;
  /** The compose definition (driver, options, labels, file…), for when shoal creates these. */
  definition: Record<string, unknown>;
}
