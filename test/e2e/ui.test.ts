import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { launchBrowser, screenshotDir, signIn, type HeadlessBrowser } from "./browser.js";
import { startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE } from "./hosts.js";

// These run inside the page (page.evaluate), where the DOM is; the test program itself has no DOM types.
declare const document: any;
declare const window: any;
declare const sessionStorage: any;

const sleeper = (name: string, replicas: number) => ({
  name,
  replicas,
  task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 } },
});

/** The running cards on the board, by node hostname. */
const cardsByNode = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll(".column")].map((col: any) => [
        col.dataset.node!,
        [...col.querySelectorAll(".card.state-running")].map((c: any) => c.querySelector(".card-name").textContent as string),
      ]),
    ),
  );

/** A person's view of the cluster, in headless Chromium, against real agents on namespaced hosts. */
describe("web view", () => {
  let c: ShoalCluster;
  let browser: HeadlessBrowser;
  let page: Page & { problems: string[] };
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "ui" });
    browser = await launchBrowser();
    page = await browser.page();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await c?.stop();
  }, 120_000);

  it("refuses a wrong token with a clear message and no stack trace", async () => {
    const p = await browser.page();
    await signIn(p, c.controlPlane.url, "not-a-token");
    const alert = p.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe("Not signed in: invalid or expired credential");
    expect(await p.locator("body").textContent()).not.toMatch(/\bat .+:\d+:\d+|Error:|TypeError/);
    expect(await p.getByLabel("API token").isVisible()).toBe(true);
    await p.close();
  });

  it("signs in and shows every node with the tasks it runs; the token stays out of the URL", async () => {
    await c.api("POST", "/v1/services", sleeper("web", 3));
    await c.waitFor("3 running", async () =>
      ((await c.api("GET", "/v1/tasks?service=web&desired-state=running")).body as any[]).filter((t) => t.status.state === "running").length === 3,
    );
    await signIn(page, c.controlPlane.url, c.admin);
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll(".card.state-running").length === 3);
    const columns = await page.locator(".column").evaluateAll((cols) => cols.map((col: any) => [col.dataset.node, col.dataset.state]));
    expect(columns).toEqual(c.hosts.hosts.map((h) => [h.name, "ready"]));
    expect(Object.values(await cardsByNode(page)).flat().sort()).toEqual(["web.1", "web.2", "web.3"]);
    // State is said in words, not by colour alone.
    expect(await page.locator(".column").first().getByText("READY").count()).toBe(1);
    expect(page.url()).not.toContain(c.admin);
    expect(await page.evaluate(() => sessionStorage.getItem("shoal.token"))).toBe(c.admin);
    await page.screenshot({ path: `${screenshotDir}/board-3-nodes.png`, fullPage: true });
    // Marks this document: if anything reloaded the page, the mark is gone.
    await page.evaluate(() => ((window as any).shoalTestMark = 1));
  });

  it("scales a service from its page, after confirming, and the new cards appear without reloading", async () => {
    await page.getByRole("link", { name: "Services" }).click();
    await page.getByRole("link", { name: "web" }).click();
    await page.getByRole("heading", { name: "web" }).waitFor();
    await page.getByLabel("Replicas").fill("5");
    await page.getByRole("button", { name: "Scale" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).toContain("Scale web from 3 to 5 replicas?");
    await dialog.getByRole("button", { name: "Scale" }).click();
    await page.getByRole("status").filter({ hasText: "web scaled to 5" }).waitFor();
    await page.getByRole("link", { name: "Board" }).click();
    await page.waitForFunction(() => document.querySelectorAll(".card.state-running").length === 5, null, { timeout: 60_000 });
    expect(Object.values(await cardsByNode(page)).flat().sort()).toEqual(["web.1", "web.2", "web.3", "web.4", "web.5"]);
    expect(await page.evaluate(() => (window as any).shoalTestMark)).toBe(1);
  });

  it("shows a killed host's column down, and its tasks arriving on the others, without reloading", async () => {
    const victim = c.hosts.hosts[2]!;
    const before = await cardsByNode(page);
    expect(before[victim.name]!.length).toBeGreaterThan(0);
    await Promise.all([c.agents.get(victim.name)!.kill("SIGKILL"), victim.killEngine()]);
    const column = page.locator(`.column[data-node="${victim.name}"]`);
    await page.waitForFunction((name) => document.querySelector(`.column[data-node="${name}"]`)?.getAttribute("data-state") === "down", victim.name, {
      timeout: 60_000,
    });
    expect(await column.getByText("DOWN").count()).toBe(1);
    await page.waitForFunction(
      (name) =>
        document.querySelectorAll(`.column:not([data-node="${name}"]) .card.state-running`).length === 5 &&
        document.querySelectorAll(`.column[data-node="${name}"] .card`).length === 0,
      victim.name,
      { timeout: 90_000 },
    );
    expect(await page.evaluate(() => (window as any).shoalTestMark)).toBe(1);
    await page.screenshot({ path: `${screenshotDir}/board-host-down.png`, fullPage: true });
    expect(page.problems).toEqual([]);
  });

  it("gives a read-only token the same view and no action", async () => {
    const { token } = (await c.api("POST", "/v1/tokens", { name: "viewer", scope: "read" })).body as { token: string };
    const p = await browser.page();
    await signIn(p, c.controlPlane.url, token);
    await p.waitForFunction(() => document.querySelectorAll(".card.state-running").length === 5);
    expect(await p.getByText("read-only").count()).toBe(1);
    expect(await p.getByRole("button", { name: /^(Drain|Activate)/ }).count()).toBe(0);
    await p.getByRole("link", { name: "Services" }).click();
    await p.getByRole("link", { name: "web" }).click();
    await p.getByRole("heading", { name: "Tasks" }).waitFor();
    expect(await p.getByRole("button", { name: /Scale|Force redeploy|Roll back/ }).count()).toBe(0);
    expect(await p.getByLabel("Replicas").count()).toBe(0);
    expect(p.problems).toEqual([]);
    // The API refuses it anyway, in words.
    const refused = await p.evaluate(async (t) => {
      const res = await fetch("/v1/services/scale", {
        method: "POST",
        headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
        body: JSON.stringify({ services: { web: 1 } }),
      });
      return [res.status, ((await res.json()) as { detail: string }).detail];
    }, token);
    expect(refused).toEqual([403, "this route needs an admin API token; a read-only API token was given"]);
    await p.close();
  });

  it("fits a phone-sized screen: columns stack, nothing wider than the screen", async () => {
    const p = await browser.page({ width: 390, height: 844 });
    await signIn(p, c.controlPlane.url, c.admin);
    await p.waitForFunction(() => document.querySelectorAll(".card.state-running").length === 5);
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const lefts = await p.locator(".column").evaluateAll((cols) => cols.map((col) => Math.round(col.getBoundingClientRect().left)));
    expect(new Set(lefts).size).toBe(1);
    await p.screenshot({ path: `${screenshotDir}/board-phone.png`, fullPage: true });
    await p.close();
  });
});
