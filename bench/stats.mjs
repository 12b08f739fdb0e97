// The numbers the browser benchmarks print: medians with min and max over runs, percentiles.
export const sorted = (xs) => [...xs].sort((a, b) => a - b);
export const median = (xs) => {
  const s = sorted(xs);
  const mid = s.length >> 1;
  return s.length === 0 ? null : s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
// The nearest-rank percentile p (0-100).
export const percentile = (xs, p) => {
  const s = sorted(xs);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] : null;
};
export const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
// Median, min and max of the runs that gave a number; `runs` keeps them all, in order.
export const spread = (xs) => {
  const v = xs.filter((x) => x != null);
  return { median: median(v), min: v.length ? Math.min(...v) : null, max: v.length ? Math.max(...v) : null, runs: xs };
};
// `d` decimals, or 2 under 10 and 1 from there; '-' for no number.
export const fmt = (x, d) => (x == null ? '-' : d != null ? x.toFixed(d) : Math.abs(x) < 10 ? x.toFixed(2) : x.toFixed(1));
export const show = (s, d) => `${fmt(s.median, d)} [${fmt(s.min, d)}-${fmt(s.max, d)}]`;
