// One colour scale for "how hot is this edge", shared by the graph, the table and the
// histograms so a colour means the same everywhere: cool blue → yellow → red, where red is
// the edge that adds the most time per flow (rank 1).
const STOPS: [number, [number, number, number]][] = [
  [0, [69, 117, 180]], // #4575b4
  [0.5, [254, 224, 144]], // #fee090
  [1, [215, 48, 39]], // #d73027
];

export const HOTTEST = '#d73027';

export function heatColor(t: number): string {
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1);
  let i = 0;
  while (i < STOPS.length - 2 && x > STOPS[i + 1][0]) i++;
  const [a, ca] = STOPS[i];
  const [b, cb] = STOPS[i + 1];
  const f = (x - a) / (b - a);
  const hex = ca.map((c, k) => Math.round(c + (cb[k] - c) * f).toString(16).padStart(2, '0')).join('');
  return `#${hex}`;
}

/** an edge's heat: its time added per flow against the hottest edge's */
export function heatOf(meanAddedNs: number, hottestNs: number): number {
  return hottestNs > 0 ? meanAddedNs / hottestNs : 0;
}
