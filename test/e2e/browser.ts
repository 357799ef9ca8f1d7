import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium (.ci/run installs it); playwright-core downloads no browser of its own. */
const executablePath = "/usr/bin/chromium";

/** Where the runs' screenshots go, for a person to look at. */
export const screenshotDir = join(tmpdir(), "shoal-ui-screenshots");

export interface HeadlessBrowser {
  /** A fresh tab (its own session storage) at this size, with page errors and console errors collected. */
  page(opts?: { width?: number; height?: number }): Promise<Page & { problems: string[] }>;
  close(): Promise<void>;
}

/** Headless Chromium with a new empty profile and no background traffic (this machine's network is closed). */
export async function launchBrowser(): Promise<HeadlessBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "shoal-chromium-"));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  mkdirSync(screenshotDir, { recursive: true });
  return {
    async page(opts = {}) {
      const page = Object.assign(await context.newPage(), { problems: [] as string[] });
      await page.setViewportSize({ width: opts.width ?? 1280, height: opts.height ?? 900 });
      page.on("pageerror", (err) => page.problems.push(`page error: ${err.message}`));
      page.on("console", (m) => m.type() === "error" && page.problems.push(`console: ${m.text()}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on the page at `url` with `token`, as a person would: type it, press Enter. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("API token").fill(token);
  await page.getByLabel("API token").press("Enter");
}
