/** An image reference taken apart: `registry:5000/path/name:tag@sha256:…`. */
export interface ImageRef {
  /** Everything before the tag: registry (if any) and path. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Docker's tag grammar. */
export const imageTagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf("@");
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  // A colon after the last slash starts the tag; one before it is a registry port.
  const colon = named.lastIndexOf(":");
  const hasTag = colon > named.lastIndexOf("/");
  return {
    repository: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The same repository at another tag; a pinned digest is dropped, since it would override the tag. */
export const withImageTag = (ref: string, tag: string) => `${parseImageRef(ref).repository}:${tag}`;

/**
 * The repository's path as registries name it in their webhooks (`owner/name`):
 * without the registry host and without Docker Hub's `library/`, lower-cased.
 */
export function repositoryPath(repository: string): string {
  const parts = repository.toLowerCase().split("/");
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) parts.shift();
  if (parts.length > 1 && parts[0] === "library") parts.shift();
  return parts.join("/");
}
