// Box plots of outage per implementation and setting, as a hand-written SVG (no dependency).
// One panel per setting with its own linear y axis (1 s and 10 ms outages differ 100-fold).
import { percentile } from './stats.ts';

export interface BoxSeries {
  label: string; // implementation, e.g. "tandem"
  values: number[]; // one per run (ms)
}

export interface BoxPanel {
  title: string; // e.g. "failure, 100 ms"
  series: BoxSeries[];
  /** Optional reference line (e.g. the protocol bound), drawn dashed. */
  reference?: { value: number; label: string };
}

export const IMPL_COLORS: Record<string, string> = {
  tandem: '#1f77b4',
  keepalived: '#ff7f0e',
  frr: '#2ca02c',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** A "nice" step (1, 2 or 5 x 10^k) giving about `count` ticks up to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const k = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * k >= raw) return m * k;
  return 10 * k;
}

/** The SVG document: panels side by side, each a box plot per series (whiskers min..max). */
export function boxPlotSvg(
  panels: readonly BoxPanel[],
  opts: { title?: string; panelWidth?: number; height?: number } = {},
): string {
  const pw = opts.panelWidth ?? 230;
  const h = opts.height ?? 360;
  const top = 50,
    bottom = 60,
    left = 55,
    gap = 20;
  const width = Math.max(1, panels.length) * (pw + gap) + 10;
  const plotH = h - top - bottom;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  if (opts.title) out.push(`<text x="10" y="18" font-size="14" font-weight="bold">${esc(opts.title)}</text>`);
  panels.forEach((p, pi) => {
    const x0 = pi * (pw + gap) + 10;
    const all = p.series.flatMap((s) => s.values).filter(Number.isFinite);
    const maxV = Math.max(1, ...all, p.reference?.value ?? 0) * 1.1;
    const step = niceStep(maxV);
    const yMax = Math.ceil(maxV / step) * step;
    const y = (v: number) => top + plotH - (v / yMax) * plotH;
    const plotX = x0 + left;
    const plotW = pw - left;
    out.push(`<g class="panel">`);
    out.push(
      `<text x="${x0 + pw / 2}" y="${top - 14}" text-anchor="middle" font-size="12" font-weight="bold">${esc(p.title)}</text>`,
    );
    out.push(`<rect x="${plotX}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      out.push(`<line x1="${plotX - 4}" x2="${plotX + plotW}" y1="${f1(y(v))}" y2="${f1(y(v))}" stroke="#eee"/>`);
      out.push(`<text x="${plotX - 6}" y="${f1(y(v) + 4)}" text-anchor="end">${f1(v)}</text>`);
    }
    out.push(
      `<text transform="translate(${x0 + 12},${top + plotH / 2}) rotate(-90)" text-anchor="middle">outage (ms)</text>`,
    );
    if (p.reference) {
      const ry = f1(y(p.reference.value));
      out.push(
        `<line x1="${plotX}" x2="${plotX + plotW}" y1="${ry}" y2="${ry}" stroke="#d62728" stroke-dasharray="4 3"/>`,
      );
      out.push(
        `<text x="${plotX + plotW - 2}" y="${f1(y(p.reference.value) - 3)}" text-anchor="end" fill="#d62728">${esc(p.reference.label)}</text>`,
      );
    }
    const n = Math.max(1, p.series.length);
    const slot = plotW / n;
    p.series.forEach((s, si) => {
      const cx = plotX + slot * (si + 0.5);
      const color = IMPL_COLORS[s.label] ?? '#7f7f7f';
      const v = s.values.filter(Number.isFinite).sort((a, b) => a - b);
      out.push(`<text x="${f1(cx)}" y="${top + plotH + 16}" text-anchor="middle">${esc(s.label)}</text>`);
      out.push(`<text x="${f1(cx)}" y="${top + plotH + 30}" text-anchor="middle" fill="#666">n=${v.length}</text>`);
      if (v.length === 0) return;
      const bw = Math.min(40, slot * 0.5);
      const [mn, q1, md, q3, mx] = [v[0], percentile(v, 25), percentile(v, 50), percentile(v, 75), v[v.length - 1]];
      out.push(`<line x1="${f1(cx)}" x2="${f1(cx)}" y1="${f1(y(mx))}" y2="${f1(y(mn))}" stroke="${color}"/>`);
      for (const w of [mn, mx])
        out.push(
          `<line x1="${f1(cx - bw / 4)}" x2="${f1(cx + bw / 4)}" y1="${f1(y(w))}" y2="${f1(y(w))}" stroke="${color}"/>`,
        );
      out.push(
        `<rect x="${f1(cx - bw / 2)}" y="${f1(y(q3))}" width="${f1(bw)}" height="${f1(Math.max(1, y(q1) - y(q3)))}" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`,
      );
      out.push(
        `<line x1="${f1(cx - bw / 2)}" x2="${f1(cx + bw / 2)}" y1="${f1(y(md))}" y2="${f1(y(md))}" stroke="${color}" stroke-width="2.5"><title>${esc(`${s.label}: median ${f1(md)} ms`)}</title></line>`,
      );
      v.forEach((val, i) => {
        const jx = cx + bw / 2 + 6 + (i % 3) * 3;
        out.push(
          `<circle cx="${f1(jx)}" cy="${f1(y(val))}" r="2" fill="${color}"><title>${f1(val)} ms</title></circle>`,
        );
      });
    });
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return `${out.join('\n')}\n`;
}
