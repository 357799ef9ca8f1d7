import { access } from "node:fs/promises";
import type { HostDescription } from "../../../src/protocol/agent-v1.js";
import type { CommandRunner } from "./runner.js";

type Overlay = NonNullable<HostDescription["overlay"]>;

const works = (p: Promise<unknown>) => p.then(
  () => true,
  () => false,
);

/**
 * What this host can do for overlays: iproute2 with VXLAN (an actual device
 * made and deleted), nftables, conntrack, WireGuard (the kernel's, else
 * wireguard-go; either with wireguard-tools' `wg` to configure it), and the MTU of the interface holding `addr`. Undefined when
 * iproute2 is missing or the MTU is below what an overlay needs: the host then
 * takes no part in overlays, and `why` says so.
 */
export async function probeOverlay(run: CommandRunner, addr: string): Promise<{ overlay?: Overlay; why?: string }> {
  let addrs: { ifname: string; mtu: number; addr_info?: { local: string }[] }[];
  try {
    addrs = JSON.parse(await run.run("ip", ["-j", "addr", "show"]));
  } catch (err) {
    return { why: `iproute2 unusable: ${(err as Error).message}` };
  }
  const underlay = addrs.find((a) => a.addr_info?.some((i) => i.local === addr));
  if (!underlay) return { why: `no interface holds the address ${addr}` };
  if (underlay.mtu < 1280) return { why: `${underlay.ifname}'s MTU ${underlay.mtu} is below 1280` };
  // Unique per process: agents of several test hosts may probe in one namespace.
  const probe = `shv-p${process.pid}`;
  const vxlan = await works(run.run("ip", ["link", "add", probe, "type", "vxlan", "id", "1", "dstport", "4789"]));
  if (vxlan) await run.run("ip", ["link", "del", probe]).catch(() => undefined);
  const [nftables, conntrack, kernelWg, goWg, wgTool] = await Promise.all([
    works(run.run("nft", ["--version"])),
    works(run.run("conntrack", ["--version"])),
    works(access("/sys/module/wireguard")),
    works(run.run("wireguard-go", ["--version"])),
    works(run.run("wg", ["--version"])),
  ]);
  return {
    overlay: {
      underlayMtu: Math.min(underlay.mtu, 65535),
      capabilities: { vxlan, nftables, conntrack, wireguard: !wgTool ? "none" : kernelWg ? "kernel" : goWg ? "go" : "none" },
    },
  };
}
