// Boxes [x, y, w, h] for checking tracked shapes against the truth (tests and benchmarks).
export function boundsOf(points) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]); x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]); y1 = Math.max(y1, points[i + 1]);
  }
  return [x0, y0, x1 - x0, y1 - y0];
}

export function iou(a, b) {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, w) * Math.max(0, h);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

// Even-odd: whether (x, y) is inside the polygon of flat points [x0, y0, x1, y1, ...].
export function insidePolygon(p, x, y) {
  let inside = false;
  for (let i = 0, j = p.length / 2 - 1; i < p.length / 2; j = i++) {
    const xi = p[2 * i], yi = p[2 * i + 1], xj = p[2 * j], yj = p[2 * j + 1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// IoU of two polygons, sampled at the pixel centres (x + 0.5, y + 0.5) of their joint bounds.
export function polygonIou(a, b) {
  const [ax, ay, aw, ah] = boundsOf(a), [bx, by, bw, bh] = boundsOf(b);
  const x0 = Math.floor(Math.min(ax, bx)), y0 = Math.floor(Math.min(ay, by));
  const x1 = Math.ceil(Math.max(ax + aw, bx + bw)), y1 = Math.ceil(Math.max(ay + ah, by + bh));
  let both = 0, either = 0;
  for (let y = y0 + 0.5; y < y1; y++) for (let x = x0 + 0.5; x < x1; x++) {
    const p = insidePolygon(a, x, y), q = insidePolygon(b, x, y);
    both += p && q; either += p || q;
  }
  return either ? both / either : 0;
}
