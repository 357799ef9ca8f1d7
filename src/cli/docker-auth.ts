import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { encodeRegistryHeader, registryAuthOf, RegistryAuthProblem, type RegistryAuth } from "../domain/registry-auth.js";

/**
 * --with-registry-auth: the logins `docker login` keeps in the docker CLI's
 * config.json (`auths`, the base64 `auth` field or an identity token), read
 * as the docker CLI reads them, for the registries the images come from.
 * Credential helpers (`credsStore`, `credHelpers`) are programs shoal's CLI
 * does not run: a registry that needs one is a clear error.
 */

interface DockerConfigFile {
  auths?: Record<string, Record<string, unknown>>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** $DOCKER_CONFIG/config.json, else ~/.docker/config.json (HOME, else the user's home), as the docker CLI looks. */
export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker"), "config.json");
}

/** Where `docker login` files Docker Hub's login. */
const dockerHubKeys = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];

/** A config key as a host: `https://ghcr.io/v2/` → `ghcr.io` (the docker CLI's ConvertToHostname). */
const hostOf = (key: string) => key.replace(/^https?:\/\//, "").split("/")[0]!;

async function readDockerConfig(path: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`--with-registry-auth: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as DockerConfigFile;
  } catch (err) {
    throw new Error(`--with-registry-auth: ${path} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * The logins of these registries (as images name them: `docker.io`,
 * `host:port`) that the config holds; a registry without one is left out.
 */
export async function registryLogins(env: NodeJS.ProcessEnv, registries: string[]): Promise<Map<string, RegistryAuth>> {
  const path = dockerConfigPath(env);
  const config = await readDockerConfig(path);
  const out = new Map<string, RegistryAuth>();
  for (const registry of new Set(registries)) {
    const keys = registry === "docker.io" ? dockerHubKeys : [registry];
    const ownHelper = Object.entries(config.credHelpers ?? {}).find(([k]) => keys.includes(k) || keys.includes(hostOf(k)))?.[1];
    const helper = ownHelper ?? config.credsStore;
    if (helper)
      throw new Error(
        `--with-registry-auth: ${path} keeps the login of ${registry} in the credential helper docker-credential-${helper} (${ownHelper ? "credHelpers" : "credsStore"}), which shoal's CLI does not run; ` +
          `use a docker config without it (DOCKER_CONFIG=DIR docker login ${registry === "docker.io" ? "" : registry}) or pass X-Registry-Auth through the API`,
      );
    const entry = Object.entries(config.auths ?? {}).find(([k]) => keys.includes(k) || keys.includes(hostOf(k)))?.[1];
    if (!entry) continue;
    let auth: RegistryAuth | null;
    try {
      auth = registryAuthOf(entry);
    } catch (err) {
      if (err instanceof RegistryAuthProblem) throw new Error(`--with-registry-auth: the login of ${registry} in ${path}: ${err.message}`);
      throw err;
    }
    if (auth) out.set(registry, { ...auth, serveraddress: auth.serveraddress ?? registry });
  }
  return out;
}

/** The X-Registry-Auth header of a service create or update for this image, as the docker CLI sends it (no login: a header with no credential). */
export async function registryAuthHeader(env: NodeJS.ProcessEnv, registry: string): Promise<Record<string, string>> {
  const auth = (await registryLogins(env, [registry])).get(registry) ?? { serveraddress: registry };
  return { "X-Registry-Auth": encodeRegistryHeader(auth) };
}

/** The X-Registry-Config header of a stack deploy: the logins of the registries its images come from. */
export async function registryConfigHeader(env: NodeJS.ProcessEnv, registries: string[]): Promise<Record<string, string>> {
  return { "X-Registry-Config": encodeRegistryHeader(Object.fromEntries(await registryLogins(env, registries))) };
}
