/** The agent bundle imported as text by the Worker entry (a wrangler Text module rule). */
declare module "*/shoal-agent.mjs" {
  const text: string;
  export default text;
}
