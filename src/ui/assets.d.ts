/** The stylesheet, bundled as text (esbuild's text loader, src/ui/build.ts). */
declare module "*.css" {
  const text: string;
  export default text;
}

/** The built UI bundle imported as text by the Worker entry (a wrangler Text module rule). */
declare module "*/shoal-ui.js" {
  const text: string;
  export default text;
}
