// The HTML hot-spot report as a person sees it, rendered by headless Chromium (Debian's
// chromium package, driven by playwright-core): the graph's edges are drawn and named, the
// top-ranked edge is the hottest colour and the thickest arrow, every edge has a histogram
// with bars, the slowest flows are listed with their slowest hop marked, and the page
// fetches nothing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateFlows, type HotspotReport } from '../../src/hotspots/rank.js';
import { hotspotHtml } from '../../src/hotspots/report-html.js';
import { HOTTEST } from '../../src/hotspots/heat.js';
import { flow, FORWARD, path, request } from '../unit/helpers/flows.js';

const CHROMIUM = '/usr/bin/chromium';
const SBOX_LB = 'node1 · ingress-sbox · eth1 → node1 · ingress-sbox · MARK+DNAT';
const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;

describe.skipIf(!existsSync(CHROMIUM))(`the HTML report in Chromium${existsSync(CHROMIUM) ? '' : ' (skipped: /usr/bin/chromium is not installed; scripts/install.sh installs it)'}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-html-'));
  let browser: Browser;
  let page: Page;
  let report: HotspotReport;
  const requests: string[] = [];

  beforeAll(async () => {
    const flows = Array.from({ length: 200 }, (_, i) => request(i, 10_000, 5, i % 40 === 0 ? 6_000_000 : 2_000_000));
    const dropAt = [...FORWARD.slice(0, 5), { node: 'node1', netns: 'ingress-sbox', what: 'drop' as const, drop_reason: 'NETFILTER_DROP' }];
    flows.push(flow(900, path(dropAt, 0, []), null, [{ direction: 'forward', where: 'node1 · ingress-sbox', reason: 'NETFILTER_DROP', count: 3 }]));
    report = await aggregateFlows(flows);
    const file = join(dir, 'report.html');
    writeFileSync(file, await hotspotHtml(report, { source: 'synthetic flows', generated: new Date(0) }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // as root, in a container: no sandbox; and nothing that talks to the network by itself
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await ctx.newPage();
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches nothing but itself', () => {
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
  });

  it('draws every edge in the graph, named by its two ends', async () => {
    const drawn = await page.$$eval('#graph svg g.edge', (gs) =>
      gs.map((g) => {
        const r = (g as SVGGElement).getBoundingClientRect();
        return { id: g.id, name: g.querySelector('a')?.getAttribute('xlink:title') ?? '', w: r.width, h: r.height };
      }),
    );
    expect(drawn).toHaveLength(report.edges.length);
    for (const e of report.edges) {
      const d = drawn.find((x) => x.id === `edge-${e.rank}`)!;
      expect(d.name).toContain(e.key);
      expect(d.w + d.h).toBeGreaterThan(5);
    }
    // the points are boxes labelled with their device or NAT step, inside their namespace and node
    const labels = await page.$$eval('#graph svg g.node text, #graph svg g.cluster text', (ts) => ts.map((t) => t.textContent));
    for (const l of ['node1', 'node2', 'ingress-sbox', 'MARK+DNAT', 'eth0 (vxlan encap)', 'docker_gwbridge', 'nginx.1']) expect(labels).toContain(l);
  });

  it('colours the top-ranked edge hottest, in the graph and in the table', async () => {
    expect(report.edges[0].key).toBe(SBOX_LB);
    const strokes = await page.$$eval('#graph svg g.edge', (gs) =>
      gs.map((g) => {
        const p = g.querySelector('path')!;
        const cs = getComputedStyle(p);
        return { id: g.id, stroke: cs.stroke, width: parseFloat(cs.strokeWidth) };
      }),
    );
    const top = strokes.find((s) => s.id === 'edge-1')!;
    expect(top.stroke).toBe(rgb(HOTTEST));
    for (const s of strokes.filter((x) => x.id !== 'edge-1')) {
      expect(s.stroke).not.toBe(rgb(HOTTEST));
      expect(s.width).toBeLessThan(top.width);
    }
    const firstRow = page.locator('#edges tbody tr').first();
    expect(await firstRow.locator('.edge-name').innerText()).toBe(SBOX_LB);
    expect(await firstRow.locator('.swatch').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgb(HOTTEST));
    expect(await page.locator('#headline').innerText()).toContain(`Hottest edge: ${SBOX_LB}`);
  });

  it('shows a histogram for every edge, its bars where its latencies are', async () => {
    const rows = await page.$$eval('#edges tbody tr', (trs) =>
      trs.map((tr) => {
        const svg = tr.querySelector('svg.histogram');
        const bars = [...(svg?.querySelectorAll('rect.bar') ?? [])].map((r) => ({ h: Number(r.getAttribute('height')), title: r.querySelector('title')?.textContent ?? '' }));
        const box = svg?.getBoundingClientRect();
        return { rank: (tr as HTMLElement).dataset.rank, visible: !!box && box.width > 50 && box.height > 20, bars, label: svg?.getAttribute('aria-label') ?? '' };
      }),
    );
    expect(rows).toHaveLength(report.edges.length);
    for (const r of rows) {
      expect(r.visible, `edge ${r.rank}`).toBe(true);
      expect(r.bars.some((b) => b.h > 0)).toBe(true);
    }
    // the hot edge: most requests near 2 ms, a few near 6 ms, so two separate bars
    const hot = rows[0].bars.filter((b) => b.h > 0).map((b) => b.title);
    expect(hot).toHaveLength(2);
    expect(hot[0]).toMatch(/^1\.\d+ms–2\.\d+ms: 195$/);
    expect(hot[1]).toMatch(/^[56]\.\d+ms–[67]\.\d+ms: 5$/);
  });

  it('lists the slowest flows, slowest first, with the slowest hop marked on the path', async () => {
    const flows = page.locator('#slowest li.slow-flow');
    expect(await flows.count()).toBe(10);
    const first = flows.first();
    await expect.poll(() => first.isVisible()).toBe(true);
    const head = await first.locator('.flow-head').innerText();
    expect(head).toMatch(/^6\.\d+ms TCP 192\.168\.60\.100:40000 → 192\.168\.60\.1:1080 closed slowest edge: node1 · ingress-sbox · eth1 → node1 · ingress-sbox · MARK\+DNAT \+6\.01ms$/);
    const hot = await first.locator('li.hot').allInnerTexts();
    expect(hot).toHaveLength(1);
    expect(hot[0]).toMatch(/^\+6\.01ms node1 · ingress-sbox MARK 0x100\s+DNAT 172\.18\.0\.2:1080 → 10\.255\.0\.5:80$/);
    expect(await first.locator('li.hot').evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
  });

  it('lists the drops by place and reason', async () => {
    expect(await page.locator('#drops tbody tr').allInnerTexts()).toEqual(['3\t1\tforward\tnode1 · ingress-sbox\tNETFILTER_DROP']);
  });
});
