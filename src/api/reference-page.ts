import type { OpenAPIHono } from "@hono/zod-openapi";

type OpenAPIDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;
type Operation = NonNullable<NonNullable<OpenAPIDocument["paths"]>[string]["get"]>;

const methods = ["get", "post", "put", "patch", "delete"] as const;

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/**
 * A self-contained HTML reference rendered from the OpenAPI document (no
 * scripts or CDN, so it also works on an air-gapped control plane).
 */
export function renderReferencePage(doc: OpenAPIDocument): string {
  const sections = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    methods.flatMap((method) => {
      const op: Operation | undefined = item[method];
      if (!op) return [];
      const params = (op.parameters ?? [])
        .flatMap((p) => ("name" in p ? [p] : []))
        .map((p) => `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ", required" : ""}) ${escape(p.description ?? "")}</li>`)
        .join("");
      const body = op.requestBody && "content" in op.requestBody ? op.requestBody.content["application/json"]?.schema : undefined;
      const responses = Object.entries(op.responses ?? {})
        .map(([status, r]) => `<li><b>${status}</b> ${escape(String((r as { description?: string }).description ?? ""))}</li>`)
        .join("");
      return `<section id="${escape(method + path)}">
<h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${escape(op.summary ?? "")}${op.security?.length ? ' <span class="auth">bearer token</span>' : ""}</p>
${op.description ? `<p>${escape(op.description)}</p>` : ""}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ""}
${body ? `<h4>Body</h4><pre>${escape(JSON.stringify(body, null, 2))}</pre>` : ""}
<h4>Responses</h4><ul>${responses}</ul>
</section>`;
    }),
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(doc.info.title)} API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{font-weight:bold;color:#05a}.auth{font-size:80%;background:#eee;padding:0 .4em}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:80%}</style></head><body>
<h1>${escape(doc.info.title)} ${escape(doc.info.version)}</h1><p>${escape(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors are RFC 9457 problem+json.</p>
${sections.join("\n")}</body></html>`;
}
