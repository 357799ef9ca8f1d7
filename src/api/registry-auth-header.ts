import { imageRegistry } from "../domain/image-ref.js";
import { decodeRegistryAuth, decodeRegistryConfig, RegistryAuthProblem } from "../domain/registry-auth.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { ApiError } from "../http/errors.js";
import type { RegistryAuthChange } from "./service-writes.js";

/**
 * Registry credentials as requests carry them: `X-Registry-Auth` on a service
 * create or update (the docker CLI's --with-registry-auth, shoal's too) and
 * `X-Registry-Config` on a stack deploy (shoal stack deploy
 * --with-registry-auth: one per registry its images name). Read before any
 * write, so a bad header is a 400 with nothing written.
 */

function decoded<T>(header: "X-Registry-Auth" | "X-Registry-Config", decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (!(err instanceof RegistryAuthProblem)) throw err;
    throw new ApiError("validation_failed", `invalid ${header} header: ${err.message}`, [{ path: `header.${header}`, message: err.message }]);
  }
}

/** A service write's credentials: undefined (keep the stored ones) when there is no header. */
export function registryAuthFromHeader(value: string | undefined): RegistryAuthChange {
  if (!value) return undefined;
  return decoded("X-Registry-Auth", () => decodeRegistryAuth(value));
}

/** A stack deploy's credentials: for each service, its image registry's (null, removing them, when the header has none for it); undefined (keep) without the header. */
export function registryAuthsFromConfig(value: string | undefined): ((spec: ServiceSpec) => RegistryAuthChange) | undefined {
  if (!value) return undefined;
  const byRegistry = decoded("X-Registry-Config", () => decodeRegistryConfig(value));
  return (spec) => byRegistry.get(imageRegistry(spec.task.container.image)) ?? null;
}
