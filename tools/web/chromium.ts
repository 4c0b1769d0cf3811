// Debian's chromium, headless, driven by puppeteer-core: the flags that give it WebGL2 (with
// float colour buffers) and WebGPU on SwiftShader, a CPU implementation of the GPU APIs, on a
// machine without a GPU; and no background networking, which this closed network refuses.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/**
 * More flags from TSFACE_CHROMIUM_FLAGS (space-separated), with chromium's own output passed
 * through: how to see V8 at work in a page, as `TSFACE_CHROMIUM_FLAGS='--js-flags=--trace-deopt'`
 * (which showed NMS's inner loop thrown away about 1,140 times in the cold-start rows).
 */
const EXTRA_FLAGS = (process.env.TSFACE_CHROMIUM_FLAGS ?? '').split(' ').filter((f) => f);

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium)`;
}

export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'tsface-chromium-'));
  // One page.evaluate may run every shared photo on SwiftShader's WebGL2 (measured 460-620 s on 2 cores).
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...EXTRA_FLAGS, `--user-data-dir=${profile}`],
    dumpio: EXTRA_FLAGS.length > 0, protocolTimeout: 1_200_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
