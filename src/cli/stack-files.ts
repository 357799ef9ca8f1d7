import { parseDocument } from "yaml";
import { InterpolationError, substitute } from "../domain/interpolation.js";

/**
 * What `stack deploy` reads from the compose files before sending them: the
 * `env_file` paths their services name, interpolated as the API will
 * interpolate them, so the contents go along by that path. Pure; a file that
 * does not parse names none (the API reports what is wrong with it).
 */
export function envFilePaths(files: string[], env: Record<string, string>): string[] {
  const paths = new Set<string>();
  for (const service of servicesOf(files)) {
    const given = (service as { env_file?: unknown } | null)?.env_file;
    for (const path of typeof given === "string" ? [given] : Array.isArray(given) ? given : [])
      if (typeof path === "string") paths.add(interpolated(path, env));
  }
  return [...paths];
}

/** The service definitions of every file that parses, as plain values. */
function servicesOf(files: string[]): unknown[] {
  return files.flatMap((text) => {
    const doc = parseDocument(text);
    if (doc.errors.length) return [];
    const services = (doc.toJS({ maxAliasCount: 1000 }) as { services?: unknown } | null)?.services;
    return services && typeof services === "object" ? Object.values(services) : [];
  });
}

/**
 * The `file:` paths of the top-level secrets and configs (external ones have
 * none), interpolated as the API will: the CLI sends their contents along by
 * that path, as bytes in base64. Pure, like envFilePaths.
 */
export function objectFilePaths(files: string[], env: Record<string, string>): string[] {
  const paths = new Set<string>();
  for (const text of files) {
    const doc = parseDocument(text);
    if (doc.errors.length) continue;
    const top = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown> | null;
    for (const section of [top?.secrets, top?.configs]) {
      if (!section || typeof section !== "object") continue;
      for (const def of Object.values(section)) {
        const file = (def as { file?: unknown } | null)?.file;
        if (typeof file === "string") paths.add(interpolated(file, env));
      }
    }
  }
  return [...paths];
}

/**
 * The images the services name (every file's, overridden or not), interpolated
 * as the API will: --with-registry-auth sends the logins of their registries.
 * Pure, like envFilePaths.
 */
export function serviceImages(files: string[], env: Record<string, string>): string[] {
  const images = new Set<string>();
  for (const service of servicesOf(files)) {
    const image = (service as { image?: unknown } | null)?.image;
    if (typeof image === "string") images.add(interpolated(image, env));
  }
  return [...images];
}

/** A path as the API will read it; one it cannot read goes as written (the API reports it). */
function interpolated(path: string, env: Record<string, string>): string {
  try {
    return substitute(path, env, new Set());
  } catch (err) {
    if (err instanceof InterpolationError) return path;
    throw err;
  }
}

/** The API takes names up to 255 and values up to 32 KiB characters. */
const maxNameLength = 255;
const maxValueLength = 32 * 1024;

/**
 * The environment sent for interpolation: string values the API accepts. A
 * longer one is left out; a file using it gets the API's unset-variable warning.
 */
export function deployEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (typeof value === "string" && name.length <= maxNameLength && value.length <= maxValueLength) out[name] = value;
  return out;
}
