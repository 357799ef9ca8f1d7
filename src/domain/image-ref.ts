/** An image reference taken apart: `registry:5000/path/name:tag@sha256:…`. */
export interface ImageRef {
  /** Everything before the tag: registry (if any) and path. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Docker's tag grammar. */
export const imageTagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

// distribution/reference's grammar.
const pathComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const remoteNamePattern = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** go-digest's algorithms and the length of their hex. */
const digestHexLength: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const nameMaxLength = 255;

/**
 * What is wrong with an image reference, as distribution/reference's
 * ParseNormalizedNamed sees it (swarm refuses such a spec), or undefined when
 * it is valid: `[domain[:port]/]path[:tag][@algorithm:hex]`, the path lower-case.
 */
export function imageRefProblem(ref: string): string | undefined {
  if (/^[a-f0-9]{64}$/.test(ref)) return "a 64-character hexadecimal string is an image id, not a repository name";
  const { repository, tag, digest } = parseImageRef(ref);
  if (digest !== undefined) {
    if (!digestPattern.test(digest)) return `the digest ${digest} is not algorithm:hex, like sha256: and 64 hexadecimal digits`;
    const [algorithm, hex] = digest.split(":") as [string, string];
    const length = digestHexLength[algorithm];
    if (length === undefined) return `the digest algorithm ${algorithm} is not one of ${Object.keys(digestHexLength).join(", ")}`;
    if (!new RegExp(`^[a-f0-9]{${length}}$`).test(hex)) return `a ${algorithm} digest is ${length} lower-case hexadecimal digits`;
  }
  // An empty tag is what `image: name:${TAG}` gives with TAG unset: taken as none (the loader warns about TAG), where docker refuses it.
  if (tag !== undefined && tag !== "" && !imageTagPattern.test(tag)) return `the tag ${tag} is not letters, digits, _ . - (at most 128, not starting with . or -)`;
  const domain = imageRegistry(repository);
  const hasDomain = domain !== dockerHub || repository.startsWith(`${dockerHub}/`);
  const path = hasDomain ? repository.slice(domain.length + 1) : repository;
  if (hasDomain && !domainPattern.test(domain)) return `the registry ${domain} is not a host name or address with an optional :port`;
  if (path.toLowerCase() !== path) return `the repository name ${path} must be lower-case`;
  if (!remoteNamePattern.test(path))
    return `the repository name ${path || "(empty)"} is not /-separated components of lower-case letters and digits joined by . _ __ or -`;
  const canonical = `${domain}/${hasDomain || path.includes("/") ? "" : "library/"}${path}`;
  if (canonical.length > nameMaxLength) return `the repository name is longer than ${nameMaxLength} characters`;
  return undefined;
}

const dockerHub = "docker.io";

/**
 * The registry an image (or a repository) comes from, by docker's rule: the
 * first path component when it names a host (a dot or a port in it, or
 * localhost, or upper case), else Docker Hub, `docker.io`.
 */
export function imageRegistry(image: string): string {
  const slash = image.indexOf("/");
  const first = slash < 0 ? "" : image.slice(0, slash);
  return slash >= 0 && (first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first) ? first : dockerHub;
}

/** Splits by position only, for any text: a colon after the last slash starts the tag. {@link imageRefProblem} judges it. */
export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf("@");
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const colon = named.lastIndexOf(":");
  const hasTag = colon > named.lastIndexOf("/");
  return {
    repository: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The engine's pull arguments: `fromImage` and a tag, or the digest in its place, as the docker CLI sends them (an empty tag would pull every tag). */
export function pullArguments(ref: string): { name: string; tag: string } {
  const { repository, tag, digest } = parseImageRef(ref);
  return { name: repository, tag: digest ?? (tag || "latest") };
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
