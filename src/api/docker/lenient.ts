/**
 * Reads a Docker API body as the Go daemon decodes it: object keys match
 * case-insensitively (docker-py sends `Mode: {"replicated": …}`, the CLI sends
 * `Healthcheck` where the spec says `HealthCheck`), null is the same as absent,
 * and keys Docker does not know are ignored. Types are strict: a number where a
 * string belongs is an error naming the field. Pure.
 */

/** A field of the body that is wrong (`kind: "invalid"`) or that shoal cannot honour (`kind: "unsupported"`). */
export class DockerFieldError extends Error {
  constructor(
    readonly field: string,
    readonly kind: "invalid" | "unsupported",
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "DockerFieldError";
  }
}

const typeOf = (v: unknown) => (Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : `a ${typeof v}`);

/** Whether a value says nothing: absent, null, false, 0, "", or arrays and objects of only such values. */
export function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.values(v).every(isZero);
  return false;
}

export class Fields {
  private constructor(
    readonly path: string,
    private readonly value: Record<string, unknown>,
  ) {}

  /** The body itself; `what` names it in errors when it is not an object. */
  static of(value: unknown, path: string, what = "an object"): Fields {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new DockerFieldError(path || "body", "invalid", `expected ${what}, got ${typeOf(value)}`);
    return new Fields(path, value as Record<string, unknown>);
  }

  at(key: string) {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The raw value of `key`: its exact spelling, else the first key equal to it ignoring case (as Go decodes); null reads as absent. */
  raw(key: string): unknown {
    const lower = key.toLowerCase();
    const match = Object.hasOwn(this.value, key) ? key : Object.keys(this.value).find((k) => k.toLowerCase() === lower);
    const v = match === undefined ? undefined : this.value[match];
    return v === null ? undefined : v;
  }

  private fail(key: string, expected: string, got: unknown): never {
    throw new DockerFieldError(this.at(key), "invalid", `expected ${expected}, got ${typeOf(got)}`);
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined || typeof v === "string") return v;
    return this.fail(key, "a string", v);
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined || typeof v === "boolean") return v;
    return this.fail(key, "true or false", v);
  }

  /** An integer (Go's int64 / uint64 fields). */
  int(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined || (typeof v === "number" && Number.isSafeInteger(v))) return v;
    return this.fail(key, "an integer", v);
  }

  number(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined || (typeof v === "number" && Number.isFinite(v))) return v;
    return this.fail(key, "a number", v);
  }

  strings(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.fail(key, "an array of strings", v);
    return v.map((item, i) => (typeof item === "string" ? item : this.fail(`${key}.${i}`, "a string", item)));
  }

  /** A string → string map (labels, options); null values read as "". */
  stringMap(key: string): Record<string, string> | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) return this.fail(key, "an object of strings", v);
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, item]) => [
        k,
        item === null ? "" : typeof item === "string" ? item : this.fail(`${key}.${k}`, "a string", item),
      ]),
    );
  }

  object(key: string): Fields | undefined {
    const v = this.raw(key);
    return v === undefined ? undefined : Fields.of(v, this.at(key));
  }

  objects(key: string): Fields[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.fail(key, "an array of objects", v);
    return v.map((item, i) => Fields.of(item, this.at(`${key}.${i}`)));
  }

  /** Refuses a Docker field shoal cannot honour, unless it is given empty (clients send zero values freely). */
  refuse(key: string, why: string): void {
    if (!isZero(this.raw(key))) throw new DockerFieldError(this.at(key), "unsupported", `not supported by shoal (${why}); leave it empty`);
  }

  /** Refuses a value outside what shoal supports of a field it otherwise takes. */
  only(key: string, value: string | undefined, allowed: readonly string[], why: string): void {
    if (value !== undefined && value !== "" && !allowed.includes(value))
      throw new DockerFieldError(this.at(key), "unsupported", `${JSON.stringify(value)} is not supported by shoal (${why}); allowed: ${allowed.join(", ")}`);
  }
}
